#include "engine/classifier_file.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "genphys/errors.hpp"
#include "genphys/io.hpp"

namespace genphys::engine {

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ClassifierInfo, channels, classes, width, features, shape, test_accuracy, test_count,
                                   data)

namespace {
const std::string kClassifierMagic = "GENPHYS-CLASSIFIER 1\n";
}

ClassifierNet make_classifier(const ClassifierInfo& info) {
  return ClassifierNet(ClassifierNetOptions(info.channels, info.classes).width(info.width).features(info.features));
}

void save_classifier(const std::string& path, const ClassifierInfo& info, ClassifierNet& net) {
  const nlohmann::json meta = info;
  torch::serialize::OutputArchive archive;
  net->save(archive);
  std::string out = kClassifierMagic + meta.dump() + "\n";
  archive.save_to([&out](const void* data, size_t n) -> size_t {
    out.append(static_cast<const char*>(data), n);
    return n;
  });
  write_file_atomic(path, out);
}

ClassifierNet load_classifier(const std::string& path, ClassifierInfo& info) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw InputError("classifier " + path + " does not exist (train one: genphys classifier train --out " + path + ")");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError("cannot open classifier " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  const std::string bytes = ss.str();
  if (bytes.compare(0, kClassifierMagic.size(), kClassifierMagic) != 0)
    throw InputError("classifier " + path + " is not a genphys classifier file (bad header)");
  const std::size_t eol = bytes.find('\n', kClassifierMagic.size());
  if (eol == std::string::npos) throw InputError("classifier " + path + " is truncated");
  try {
    info = nlohmann::json::parse(bytes.substr(kClassifierMagic.size(), eol - kClassifierMagic.size())).get<ClassifierInfo>();
    if (info.shape.size() != 3) throw InputError("classifier " + path + " has a bad image shape");
    ClassifierNet net = make_classifier(info);
    torch::serialize::InputArchive archive;
    archive.load_from(bytes.data() + eol + 1, bytes.size() - eol - 1);
    net->load(archive);
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
