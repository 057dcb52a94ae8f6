"""The web app: public newsroom pages and feeds (and, later, subscriptions and admin)."""
