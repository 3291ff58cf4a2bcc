"""Shipped CRM import sources (HubSpot, Pipedrive) and their mappings.

Each CRM module registers its import source through the same plugin hook as any plugin
(`register_import_sources`); `jsonrows` is the JSON reading they share, `shipped` finds the
mappings that ship inside the package (`--mapping hubspot:deals`).
"""
