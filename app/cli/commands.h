#pragma once
// Every `lipar` sub-command: takes the arguments after its name, returns the process exit code.
// Commands may throw lipar::Error; main() turns it into a one-line message and exit code 1.

#include <string>
#include <vector>

namespace lipar::cli {

using CommandArgs = std::vector<std::string>;

int cmd_bench_dit(const CommandArgs& args);  // cmd_bench_dit.cpp: DiT block timing
int cmd_pack(const CommandArgs& args);       // cmd_pack.cpp: pack init-random
int cmd_info(const CommandArgs& args);       // cmd_pack.cpp: describe and test-load a pack
int cmd_edit(const CommandArgs& args);       // cmd_edit.cpp: edit a video file
int cmd_bench(const CommandArgs& args);      // cmd_bench.cpp: off / naive / lipar on one clip
int cmd_tensor(const CommandArgs& args);  // cmd_tensor.cpp: one component on safetensors I/O
int cmd_convert(const CommandArgs& args);  // cmd_convert.cpp: checkpoint -> safetensors
int cmd_train(const CommandArgs& args);    // cmd_train.cpp: train the Nano pack
int cmd_eval(const CommandArgs& args);     // cmd_eval.cpp: style quality of a trained pack

}  // namespace lipar::cli
