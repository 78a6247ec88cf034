import sys

from napari_vaemf.cli import main

sys.exit(main())
