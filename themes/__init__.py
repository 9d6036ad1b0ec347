"""The dashboard's built-in themes: TOML files shipped inside the package (codspot_tui.themes)."""
