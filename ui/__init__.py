"""The page's parts; app.py is their table of contents and routes to them."""
