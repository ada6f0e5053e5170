// The list a worker keeps its open Sessions in: links live in the elements, so membership costs
// no allocation, and removal from anywhere keeps the rest intact.

#include "core/intrusive_list.h"

#include <gtest/gtest.h>

#include <vector>

namespace flexgate {
namespace {

struct Item : ListLinks<Item> {
  explicit Item(int v) : value(v) {}
  int value;
};

std::vector<int> values(const IntrusiveList<Item>& list) {
  std::vector<int> out;
  for (const Item* item : list.snapshot()) out.push_back(item->value);
  return out;
}

TEST(IntrusiveList, RemovingFromTheFrontMiddleAndBackKeepsTheOthersLinked) {
  Item a(1), b(2), c(3), d(4);
  IntrusiveList<Item> list;
  for (Item* item : {&a, &b, &c, &d}) list.push_front(*item);
  EXPECT_EQ(values(list), (std::vector<int>{4, 3, 2, 1}));
  list.erase(c);  // middle
  EXPECT_EQ(values(list), (std::vector<int>{4, 2, 1}));
  list.erase(d);  // front
  EXPECT_EQ(values(list), (std::vector<int>{2, 1}));
  list.erase(a);  // back
  EXPECT_EQ(values(list), (std::vector<int>{2}));
  EXPECT_EQ(list.size(), 1u);
  list.erase(b);
  EXPECT_TRUE(list.empty());
  EXPECT_TRUE(values(list).empty());
}

TEST(IntrusiveList, ErasingAnElementNotInTheListChangesNothing) {
  Item a(1), b(2);
  IntrusiveList<Item> list;
  list.push_front(a);
  list.erase(b);
  list.erase(a);
  list.erase(a);
  EXPECT_TRUE(list.empty());
  list.push_front(a);  // and it can join again
  EXPECT_EQ(values(list), (std::vector<int>{1}));
  list.erase(a);
}

TEST(IntrusiveList, ASnapshotStaysValidWhileItsElementsLeaveTheList) {
  Item a(1), b(2), c(3);
  IntrusiveList<Item> list;
  for (Item* item : {&a, &b, &c}) list.push_front(*item);
  std::vector<int> seen;
  for (Item* item : list.snapshot()) {
    seen.push_back(item->value);
    list.erase(a);  // like a session whose close ends another
    list.erase(*item);
  }
  EXPECT_EQ(seen, (std::vector<int>{3, 2, 1}));
  EXPECT_TRUE(list.empty());
}

}  // namespace
}  // namespace flexgate
