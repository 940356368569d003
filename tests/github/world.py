"""The world the ``fake_github`` fixture builds: the App, one installed repository, and its
collaborators (login → role)."""

APP_ID = 424242
REPO = "octo/widgets"
ROLES = {"alice": "write", "bob": "read"}
