"""Who may do what: accounts, passwords, sessions, API tokens and the role rules."""
