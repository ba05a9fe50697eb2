from mouchard.cli import main

main()
