#include <iostream>

int main(int argc, char** argv) {
    std::cerr << "lipar: no commands yet\n";
    return 1;
}
