"""Tests that open the notebooks in JupyterLab in a real browser (Debian's chromium, driven by Playwright)."""
