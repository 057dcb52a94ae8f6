"""The secrets config.toml names, taken from the environment in one place.

config.toml never holds a secret: each ``*_env`` key names the environment
variable that does. The composition root reads them here, once: the key that
signs journalists' links (or the one generated in the data folder) and the SMTP
password (each relay's, with several). The console's password and the API's token
are read again at each login or request, as docs/console.md and docs/api.md
promise: changing them in the environment takes effect without a restart.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from pressdispatch.config import Settings
from pressdispatch.tokens import load_signing_key

__all__ = ["Credentials"]


@dataclass(frozen=True)
class Credentials:
    signing_key: bytes
    smtp_password: str | None
    admin_token_env: str
    api_token_env: str
    relay_passwords: tuple[str | None, ...] = ()  # one for each of [[smtp.relays]], in order

    @classmethod
    def read(cls, settings: Settings) -> Credentials:
        web = settings.web
        return cls(
            signing_key=load_signing_key(_env(web.signing_key_env), settings.paths.data),
            smtp_password=_env(settings.smtp.password_env),
            admin_token_env=web.admin_token_env,
            api_token_env=web.api_token_env,
            relay_passwords=tuple(_env(r.password_env) for r in settings.smtp.relays),
        )

    def admin_token(self) -> str | None:
        """The console's password now; None when unset (the console refuses everyone)."""
        return _env(self.admin_token_env)

    def api_token(self) -> str | None:
        """The API's bearer token now; None when unset (the API refuses everyone)."""
        return _env(self.api_token_env)


def _env(name: str) -> str | None:
    return os.environ.get(name) or None
