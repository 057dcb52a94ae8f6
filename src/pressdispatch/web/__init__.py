"""The web app: the public newsroom and its feeds, subscriptions, the console and the API."""
