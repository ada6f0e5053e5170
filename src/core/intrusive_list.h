#pragma once
// A doubly linked list threaded through its elements, so adding and removing one allocates
// nothing: a worker's open Sessions, one per connection and one per HTTP/2 stream, come and go
// on the hot path. An element is in at most one list of a kind at a time; the list owns nothing.

#include <cassert>
#include <cstddef>
#include <vector>

namespace flexgate {

template <typename T>
class IntrusiveList;

// The links an element of an IntrusiveList<T> carries: T derives from it.
template <typename T>
class ListLinks {
 protected:
  ListLinks() = default;
  ~ListLinks() { assert(!linked_); }  // removed before it dies: a list never points at freed memory

 public:
  ListLinks(const ListLinks&) = delete;
  ListLinks& operator=(const ListLinks&) = delete;

 private:
  friend class IntrusiveList<T>;
  T* prev_ = nullptr;
  T* next_ = nullptr;
  bool linked_ = false;
};

template <typename T>
class IntrusiveList {
 public:
  IntrusiveList() = default;
  IntrusiveList(const IntrusiveList&) = delete;
  IntrusiveList& operator=(const IntrusiveList&) = delete;

  void push_front(T& element) {
    ListLinks<T>& links = element;
    assert(!links.linked_);
    links.prev_ = nullptr;
    links.next_ = head_;
    if (head_ != nullptr) static_cast<ListLinks<T>&>(*head_).prev_ = &element;
    head_ = &element;
    links.linked_ = true;
    ++size_;
  }
  // Removes `element` if it is in the list (a no-op otherwise).
  void erase(T& element) {
    ListLinks<T>& links = element;
    if (!links.linked_) return;
    if (links.prev_ != nullptr) {
      static_cast<ListLinks<T>&>(*links.prev_).next_ = links.next_;
    } else {
      head_ = links.next_;
    }
    if (links.next_ != nullptr) static_cast<ListLinks<T>&>(*links.next_).prev_ = links.prev_;
    links.prev_ = links.next_ = nullptr;
    links.linked_ = false;
    --size_;
  }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // The elements now, for a walk that may remove them from the list as it goes.
  std::vector<T*> snapshot() const {
    std::vector<T*> out;
    out.reserve(size_);
    for (T* at = head_; at != nullptr; at = static_cast<const ListLinks<T>&>(*at).next_) out.push_back(at);
    return out;
  }

 private:
  T* head_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace flexgate
