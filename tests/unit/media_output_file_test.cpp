// Outputs never clobber inputs and never appear half-written under their final name.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/temp_dir.h"
#include "core/error.h"
#include "media/output_file.h"

namespace lipar::media {
namespace {

namespace fs = std::filesystem;

std::string read(const std::string& path) {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(MediaOutputFile, an_output_that_is_an_input_is_refused_whatever_the_path) {
    test::TempDir dir;
    const std::string in = dir.file("clip.mp4");
    std::ofstream(in) << "video";
    fs::create_directories(dir.path() / "sub");
    fs::create_symlink(in, dir.file("link.mp4"));
    ASSERT_EQ(::link(in.c_str(), dir.file("hard.mp4").c_str()), 0);
    for (const std::string out : {in, dir.file("sub/../clip.mp4"), dir.file("link.mp4"),
                                  dir.file("hard.mp4")}) {
        EXPECT_THROW(refuse_overwriting_inputs(out, {in}), Error) << out;
    }
    EXPECT_NO_THROW(refuse_overwriting_inputs(dir.file("other.mp4"), {in}));
    EXPECT_NO_THROW(refuse_overwriting_inputs(dir.file("other.mp4"), {""}));
    try {
        refuse_overwriting_inputs(in, {in});
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), StatusCode::InvalidArgument);
        EXPECT_NE(std::string(e.what()).find("is the input"), std::string::npos);
    }
}

TEST(MediaOutputFile, partial_file_is_renamed_on_commit_and_removed_or_kept_on_abort) {
    test::TempDir dir;
    const std::string out = dir.file("edit.mp4");
    std::ofstream(out) << "older";
    {
        PartialFile p(out, PartialFile::OnAbort::Remove);
        EXPECT_EQ(p.path(), dir.file("edit.partial.mp4"));
        std::ofstream(p.path()) << "half";
    }  // aborted: removed, the older file untouched
    EXPECT_FALSE(fs::exists(dir.file("edit.partial.mp4")));
    EXPECT_EQ(read(out), "older");
    {
        PartialFile p(out, PartialFile::OnAbort::Remove);
        std::ofstream(p.path()) << "new";
        p.commit();
    }
    EXPECT_EQ(read(out), "new");
    EXPECT_FALSE(fs::exists(dir.file("edit.partial.mp4")));
    {
        PartialFile p(dir.file("rec.mkv"), PartialFile::OnAbort::Keep);
        std::ofstream(p.path()) << "recorded so far";
    }  // a recording cut short stays, playable, under its partial name
    EXPECT_EQ(read(dir.file("rec.partial.mkv")), "recorded so far");
}

TEST(MediaOutputFile, unused_path_never_returns_an_existing_file) {
    test::TempDir dir;
    EXPECT_EQ(unused_path(dir.file("snap.png")), dir.file("snap.png"));
    std::ofstream(dir.file("snap.png")) << "1";
    EXPECT_EQ(unused_path(dir.file("snap.png")), dir.file("snap-1.png"));
    std::ofstream(dir.file("snap-1.png")) << "2";
    EXPECT_EQ(unused_path(dir.file("snap.png")), dir.file("snap-2.png"));
}

}  // namespace
}  // namespace lipar::media
