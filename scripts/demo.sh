#!/bin/sh
# Install pressdispatch and run it on the sample newsroom (config.toml, releases/,
# subscribers/): validate the files, send every release that is due to the outbox
# folder var/outbox/ (no mail server needed), show where each release stands, then
# serve the public newsroom and its feeds until Ctrl-C.
. "$(dirname "$0")/_venv.sh"
pressdispatch check
pressdispatch run --once
pressdispatch status
# Where `serve` listens: [web] host and port of the config the commands read.
url=$(python - <<'PY'
import os
from pathlib import Path

from pressdispatch.config import load_settings, local_url

web = load_settings(Path(os.environ.get("PRESSDISPATCH_CONFIG", "config.toml"))).web
print(local_url(web.host, web.port) + "/" if web.port else "the address on the 'newsroom at' line")
PY
)
echo
echo "Open $url (the newsroom; /subscribe; feeds under /feeds.opml)."
echo "The console (/admin) and the API (/api/v1) open only with PRESSDISPATCH_ADMIN_TOKEN"
echo "and PRESSDISPATCH_API_TOKEN set in the environment. Ctrl-C to stop."
exec pressdispatch serve
