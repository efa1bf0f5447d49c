// lipar_ui_make_pack OUT_DIR [SEED]: writes a tiny untrained pack for the UI smoke test (until
// the CLI's `lipar pack init-random` is available everywhere).
#include <exception>
#include <iostream>
#include <string>

#include "pipeline/random_pack.h"

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << "usage: lipar_ui_make_pack OUT_DIR [SEED]\n";
        return 2;
    }
    lipar::pipeline::RandomPackOptions options;
    options.config = "tiny";
    options.out = argv[1];
    options.seed = argc > 2 ? std::stoull(argv[2]) : 0;
    try {
        lipar::pipeline::write_random_pack(options);
    } catch (const std::exception& e) {
        std::cerr << "lipar_ui_make_pack: " << e.what() << "\n";
        return 1;
    }
    std::cout << options.out << "\n";
    return 0;
}
