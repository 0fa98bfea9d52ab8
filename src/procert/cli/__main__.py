from procert.cli.main import main

main()
