#!/bin/sh
# Install pressdispatch and run it on the sample newsroom (config.toml, releases/, subscribers/).
. "$(dirname "$0")/_venv.sh"
pressdispatch check
pressdispatch plan minsk-vaccination-campaign
pressdispatch preview minsk-vaccination-campaign --lang fr --embargo --format text
