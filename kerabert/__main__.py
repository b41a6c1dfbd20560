from kerabert.cli import main
raise SystemExit(main())
