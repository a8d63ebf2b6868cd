#include "engine/classifier_file.hpp"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "engine/config.hpp"
#include "engine/framed_file.hpp"
#include "engine/network.hpp"
#include "genphys/errors.hpp"
#include "genphys/io.hpp"

namespace genphys::engine {

namespace {
// Version 2 frames "JSON meta line + LibTorch archive" with a size and CRC (framed_file.hpp);
// version 1 files, without them, still load.
const std::string kClassifierMagic = "GENPHYS-CLASSIFIER 2\n";
const std::string kClassifierMagicV1 = "GENPHYS-CLASSIFIER 1\n";
}

ClassifierNet make_classifier(const ClassifierInfo& info) {
  return ClassifierNet(ClassifierNetOptions(info.channels, info.classes).width(info.width).features(info.features));
}

void save_classifier(const std::string& path, const ClassifierInfo& info, ClassifierNet& net) {
  const nlohmann::json meta = info;
  torch::serialize::OutputArchive archive;
  net->save(archive);
  std::string payload = meta.dump() + "\n";
  archive.save_to([&payload](const void* data, size_t n) -> size_t {
    payload.append(static_cast<const char*>(data), n);
    return n;
  });
  write_file_atomic(path, frame_payload(kClassifierMagic, payload));
}

ClassifierNet load_classifier(const std::string& path, ClassifierInfo& info) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw InputError("classifier " + path + " does not exist (train one: genphys classifier train --out " + path + ")");
  const std::string bytes = read_whole_file(path, "classifier");
  const std::string payload = bytes.compare(0, kClassifierMagicV1.size(), kClassifierMagicV1) == 0
                                  ? bytes.substr(kClassifierMagicV1.size())
                                  : unframe_payload(bytes, kClassifierMagic, "classifier", path);
  const std::size_t eol = payload.find('\n');
  if (eol == std::string::npos) throw InputError("classifier " + path + " is truncated");
  try {
    const nlohmann::json meta = nlohmann::json::parse(payload.substr(0, eol));
    require_integer_fields(meta, {"channels", "classes", "width", "features"}, true, "classifier " + path);
    require_integer_fields(meta, {"shape", "test_count"}, false, "classifier " + path);
    info = meta.get<ClassifierInfo>();
    if (info.shape.size() != 3) throw InputError("classifier " + path + " has a bad image shape");
    // Its weights are in the file: a meta line describing a larger network is refused unbuilt.
    ClassifierNet net{nullptr};
    build_within(payload.size(), "classifier " + path, [&] { net = make_classifier(info); });
    torch::serialize::InputArchive archive;
    archive.load_from(payload.data() + eol + 1, payload.size() - eol - 1);
    const std::string mismatch = load_matching_shapes(*net, archive);
    if (!mismatch.empty())
      throw InputError("classifier " + path + " is corrupt: its weights do not match its meta line (" + mismatch +
                       " has another shape)");
    net->eval();
    return net;
  } catch (const InputError&) {
    throw;
  } catch (const std::exception& e) {
    const std::string what = e.what();
    throw InputError("classifier " + path + " is truncated or corrupt (" + what.substr(0, what.find('\n')) + ")");
  }
}

}  // namespace genphys::engine
