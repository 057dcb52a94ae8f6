#!/bin/sh
# Install pressdispatch and run it once on the sample newsroom (config.toml, releases/,
# subscribers/): validate the files, send every release that is due to the outbox
# folder var/outbox/ (no mail server needed), and show where each release stands.
. "$(dirname "$0")/_venv.sh"
pressdispatch check
pressdispatch run --once
pressdispatch status
