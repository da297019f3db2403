from curator.app import main

raise SystemExit(main())
