#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "genphys/errors.hpp"
#include "genphys/io.hpp"

using namespace genphys;
namespace fs = std::filesystem;

namespace {

// A fresh directory per test case, removed at the end; unique per process so ctest -j is safe.
struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() / ("genphys_io_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
  int entries() const { return static_cast<int>(std::distance(fs::directory_iterator(path), fs::directory_iterator())); }
};

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

// An existing a.csv ("old a") and a set with a.csv (its new bytes set) and `second` added.
OutputSet with_a_csv(const TempDir& dir, const std::string& second) {
  write(dir.file("a.csv"), "old a");
  OutputSet out;
  out.add(dir.file("a.csv"));
  out.add(second);
  out.set(dir.file("a.csv"), "new a");
  return out;
}

}  // namespace

TEST_CASE("OutputSet writes every output at commit, none before") {
  TempDir dir;
  OutputSet out = with_a_csv(dir, dir.file("b.png"));
  out.set_from_file(dir.file("b.png"), [](const std::string& path) {
    CHECK(fs::path(path).extension() == ".png");  // the writer sees the target's extension
    write(path, "png bytes");
  });
  CHECK(read(dir.file("a.csv")) == "old a");
  CHECK_FALSE(fs::exists(dir.file("b.png")));
  out.commit();
  CHECK(read(dir.file("a.csv")) == "new a");
  CHECK(read(dir.file("b.png")) == "png bytes");
  CHECK(dir.entries() == 2);  // no temp files left
}

TEST_CASE("OutputSet: a failing output leaves the others untouched") {
  TempDir dir;
  OutputSet out = with_a_csv(dir, dir.file("b.png"));
  // The writer of the second output fails: nothing is written, the first file keeps its bytes.
  CHECK_THROWS_AS(out.set_from_file(dir.file("b.png"), [](const std::string&) { throw InputError("plot failed"); }),
                  InputError);
  CHECK(read(dir.file("a.csv")) == "old a");
  CHECK(dir.entries() == 1);
}

TEST_CASE("OutputSet: a failing in-place output (a full disk) replaces no file") {
  if (::access("/dev/full", W_OK) != 0) return;
  TempDir dir;
  OutputSet out = with_a_csv(dir, "/dev/full");
  out.set("/dev/full", "bytes");
  CHECK_THROWS_WITH(out.commit(), Catch::Contains("cannot write /dev/full"));
  CHECK(read(dir.file("a.csv")) == "old a");
  CHECK(dir.entries() == 1);  // the staged temp file is gone
  struct stat st {};
  REQUIRE(::stat("/dev/full", &st) == 0);
  CHECK(S_ISCHR(st.st_mode));
}

TEST_CASE("OutputSet refuses bad paths when they are added") {
  TempDir dir;
  OutputSet out;
  CHECK_THROWS_WITH(out.add(dir.file("no/such/dir/a.csv")), Catch::Contains("does not exist"));
  CHECK_THROWS_WITH(out.add(dir.path.string()), Catch::Contains("is a directory"));
  out.add(dir.file("a.csv"));
  CHECK_THROWS_WITH(out.add(dir.file("a.csv")), Catch::Contains("two outputs"));
  fs::create_symlink("a.csv", dir.file("link.csv"));
  CHECK_THROWS_WITH(out.add(dir.file("link.csv")), Catch::Contains("two outputs"));  // same target
}

TEST_CASE("OutputSet keeps write_file_atomic's guarantees: mode kept, symlink target replaced") {
  TempDir dir;
  write(dir.file("real.csv"), "old");
  ::chmod(dir.file("real.csv").c_str(), 0600);
  fs::create_symlink("real.csv", dir.file("link.csv"));
  OutputSet out;
  out.add(dir.file("link.csv"));
  out.set(dir.file("link.csv"), "new");
  out.commit();
  CHECK(fs::is_symlink(dir.file("link.csv")));
  CHECK(read(dir.file("real.csv")) == "new");
  struct stat st {};
  REQUIRE(::stat(dir.file("real.csv").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
}

TEST_CASE("check_png_path wants .png, except for standard output, devices and FIFOs") {
  CHECK_NOTHROW(check_png_path("x.png", "--plot"));
  CHECK_NOTHROW(check_png_path("dir/X.PNG", "--plot"));
  CHECK_NOTHROW(check_png_path("-", "--plot"));
  CHECK_NOTHROW(check_png_path("/dev/null", "--plot"));
  CHECK_THROWS_WITH(check_png_path("x.jpg", "--plot"), "--plot writes a PNG: 'x.jpg' must end in .png");
  CHECK_THROWS_WITH(check_png_path("x", "--out"), "--out writes a PNG: 'x' must end in .png");
}
