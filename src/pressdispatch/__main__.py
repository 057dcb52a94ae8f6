from pressdispatch.cli import main

main()
