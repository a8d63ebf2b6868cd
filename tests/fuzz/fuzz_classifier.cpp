// The classifier loader (eval --classifier) past its CRC frame: the input is the file's JSON meta
// line, framed with the weights archive of a small real classifier, as load_classifier finds them
// in a version 2 file. What loads must be the network its meta line describes. (LibTorch's own
// archive reader is not the target: a mutated archive crashes it inside libtorch; see README.)
#include "engine/classifier_file.hpp"
#include "engine/framed_file.hpp"
#include "fuzz_common.hpp"

using namespace genphys;

namespace {

std::string archive_bytes(torch::serialize::OutputArchive& archive) {
  std::string out;
  archive.save_to([&out](const void* data, std::size_t n) -> std::size_t {
    out.append(static_cast<const char*>(data), n);
    return n;
  });
  return out;
}

// Weights of {"channels":1,"classes":10,"width":2,"features":4,"shape":[1,8,8]}.
const std::string& small_weights() {
  static const std::string bytes = [] {
    engine::ClassifierInfo info;
    info.width = 2;
    info.features = 4;
    info.shape = {1, 8, 8};
    engine::ClassifierNet net = engine::make_classifier(info);
    torch::serialize::OutputArchive archive;
    net->save(archive);
    return archive_bytes(archive);
  }();
  return bytes;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string meta(reinterpret_cast<const char*>(data), size);
  meta = meta.substr(0, meta.find('\n'));
  const std::string bytes = engine::frame_payload("GENPHYS-CLASSIFIER 2\n", meta + "\n" + small_weights());
  const std::string path = fuzz::scratch_file("net.classifier", bytes.data(), bytes.size());
  fuzz::refused_cleanly([&] {
    engine::ClassifierInfo info;
    engine::ClassifierNet net = engine::load_classifier(path, info);
    engine::ClassifierNet described = engine::make_classifier(info);
    const auto loaded = net->named_parameters(), expected = described->named_parameters();
    if (loaded.size() != expected.size()) fuzz::fail("a classifier with another parameter count than its meta line's");
    for (std::size_t j = 0; j < loaded.size(); ++j)
      if (loaded[j].value().sizes() != expected[j].value().sizes())
        fuzz::fail("classifier parameter " + loaded[j].key() + " has another shape than its meta line describes: " + meta);
  });
  return 0;
}
