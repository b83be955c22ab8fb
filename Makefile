# The two commands of the README:
#   make demo    installs what is missing, builds, runs the main job on the synthetic province
#   make check   installs what is missing, builds, runs the whole test suite (also under ASan+UBSan)
.PHONY: all setup build demo check bench clean
all: build
setup build:
	scripts/setup
demo: build
	scripts/demo
check:
	scripts/test
clean:
	rm -rf build build-asan
