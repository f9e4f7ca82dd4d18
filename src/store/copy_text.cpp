#include <matchd/store/copy_text.h>

namespace matchd::store {

void copy_text::append_escaped(std::string_view v) {
  for (const char c : v) {
    switch (c) {
      case '\\':
        buffer_.append("\\\\");
        break;
      case '\t':
        buffer_.append("\\t");
        break;
      case '\n':
        buffer_.append("\\n");
        break;
      case '\r':
        buffer_.append("\\r");
        break;
      default:
        buffer_.push_back(c);
    }
  }
}

}  // namespace matchd::store
