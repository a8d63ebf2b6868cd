// Placeholder so the engine library has a translation unit until the engine lands.
#include <string>
namespace genphys { std::string engine_name() { return "genphys-engine"; } }
