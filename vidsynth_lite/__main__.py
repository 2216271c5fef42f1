from vidsynth_lite.cli import main

raise SystemExit(main())
