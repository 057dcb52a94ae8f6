#!/bin/sh
# Install pressdispatch and run it on the sample newsroom (config.toml, releases/,
# subscribers/): validate the files, send every release that is due to the outbox
# folder var/outbox/ (no mail server needed), show where each release stands, then
# serve the public newsroom and its feeds until Ctrl-C.
. "$(dirname "$0")/_venv.sh"
pressdispatch check
pressdispatch run --once
pressdispatch status
echo
echo "Open http://127.0.0.1:8000/ (the newsroom; /subscribe; feeds under /feeds.opml)."
echo "The console (/admin) and the API (/api/v1) open only with PRESSDISPATCH_ADMIN_TOKEN"
echo "and PRESSDISPATCH_API_TOKEN set in the environment. Ctrl-C to stop."
exec pressdispatch serve
