"""Storage: tables, engines and migrations. Nothing above this package writes SQL DDL."""
