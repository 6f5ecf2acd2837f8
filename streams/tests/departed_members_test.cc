// DepartedMemberFencer (streams/src/departed_members.h) over scripted group
// descriptions and a recording fence: who is fenced, when, and only once.
#include "departed_members.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace eventflow::streams {
namespace {

kafka::GroupDescription Group(const std::vector<std::string>& instance_ids) {
  kafka::GroupDescription d;
  d.state = "Stable";
  for (const std::string& id : instance_ids) {
    kafka::GroupMember m;
    m.member_id = id + "-6c0e0f0e-0000-4000-8000-000000000000";
    m.client_id = "app-" + id + "-consumer";
    m.group_instance_id = id;
    d.members.push_back(std::move(m));
  }
  return d;
}

class DepartedMembersTest : public ::testing::Test {
 protected:
  DepartedMembersTest()
      : fencer_({"a-0", "a-1"},
                [this]() -> Result<kafka::GroupDescription> {
                  EXPECT_FALSE(descriptions_.empty()) << "an unexpected description";
                  if (descriptions_.empty()) return Status::Internal("no description scripted");
                  auto d = std::move(descriptions_.front());
                  descriptions_.pop_front();
                  return d;
                },
                [this](const std::string& member, std::chrono::milliseconds timeout) {
                  EXPECT_EQ(timeout, std::chrono::seconds(10));
                  std::lock_guard<std::mutex> lock(mu_);
                  fenced_.push_back(member);
                  return failing_.count(member) ? Status::TimedOut("coordinator unavailable")
                                                : Status::OK();
                }) {}

  // The next description (or failure) the fencer gets.
  void Next(Result<kafka::GroupDescription> d) { descriptions_.push_back(std::move(d)); }
  // The members fenced so far, sorted, and forgets them.
  std::vector<std::string> TakeFenced() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> out = std::move(fenced_);
    fenced_.clear();
    std::sort(out.begin(), out.end());
    return out;
  }

  std::deque<Result<kafka::GroupDescription>> descriptions_;
  std::mutex mu_;
  std::vector<std::string> fenced_;
  std::set<std::string> failing_;
  DepartedMemberFencer fencer_;
};

TEST_F(DepartedMembersTest, MembersThatLeftAreFencedOnceAndOnlyThem) {
  // Alone at first, then b joins, then b (both threads) is gone.
  Next(Group({"a-0", "a-1"}));
  EXPECT_TRUE(fencer_.OnAssignment("a-0").empty());
  Next(Group({"a-0", "a-1", "b-0", "b-1"}));
  EXPECT_TRUE(fencer_.OnAssignment("a-0").empty());
  Next(Group({"a-0", "a-1", "b-0", "b-1"}));  // a-1's assignment of the same generation
  EXPECT_TRUE(fencer_.OnAssignment("a-1").empty());
  EXPECT_TRUE(TakeFenced().empty());
  Next(Group({"a-0", "a-1"}));
  std::vector<std::string> fenced = fencer_.OnAssignment("a-1");
  std::sort(fenced.begin(), fenced.end());
  EXPECT_EQ(fenced, (std::vector<std::string>{"b-0", "b-1"}));
  EXPECT_EQ(TakeFenced(), (std::vector<std::string>{"b-0", "b-1"}));
  // The other thread's assignment of that generation finds nothing new, nor
  // does a later one.
  Next(Group({"a-0", "a-1"}));
  EXPECT_TRUE(fencer_.OnAssignment("a-0").empty());
  Next(Group({"a-0", "a-1", "c-0"}));
  EXPECT_TRUE(fencer_.OnAssignment("a-0").empty());
  EXPECT_TRUE(TakeFenced().empty());
  // A member that came back and left again is fenced again.
  Next(Group({"a-0", "a-1", "b-0", "c-0"}));
  EXPECT_TRUE(fencer_.OnAssignment("a-0").empty());
  Next(Group({"a-0", "a-1", "c-0"}));
  EXPECT_EQ(fencer_.OnAssignment("a-0"), (std::vector<std::string>{"b-0"}));
  EXPECT_EQ(TakeFenced(), (std::vector<std::string>{"b-0"}));
}

TEST_F(DepartedMembersTest, OwnThreadsAreNeverFenced) {
  // a-1 is missing (its thread is being replaced): not fenced by its own instance.
  Next(Group({"a-0", "a-1", "b-0"}));
  EXPECT_TRUE(fencer_.OnAssignment("a-0").empty());
  Next(Group({"a-0", "b-0"}));
  EXPECT_TRUE(fencer_.OnAssignment("a-0").empty());
  EXPECT_TRUE(TakeFenced().empty());
}

TEST_F(DepartedMembersTest, ADescriptionWithoutTheAssignedThreadOrAFailedOneSaysNothing) {
  Next(Group({"a-0", "b-0"}));
  EXPECT_TRUE(fencer_.OnAssignment("a-0").empty());
  // Not the generation that assigned a-0 (e.g. the coordinator still loading
  // the group): b-0's absence means nothing, and b-0 stays known.
  Next(Group({}));
  EXPECT_TRUE(fencer_.OnAssignment("a-0").empty());
  Next(Status::TimedOut("describing the group"));
  EXPECT_TRUE(fencer_.OnAssignment("a-0").empty());
  EXPECT_TRUE(TakeFenced().empty());
  Next(Group({"a-0"}));
  EXPECT_EQ(fencer_.OnAssignment("a-0"), (std::vector<std::string>{"b-0"}));
}

TEST_F(DepartedMembersTest, AFailedFenceIsRetriedAtTheNextAssignment) {
  Next(Group({"a-0", "b-0", "c-0"}));
  EXPECT_TRUE(fencer_.OnAssignment("a-0").empty());
  failing_ = {"b-0"};
  Next(Group({"a-0"}));
  EXPECT_EQ(fencer_.OnAssignment("a-0"), (std::vector<std::string>{"c-0"}));
  EXPECT_EQ(TakeFenced(), (std::vector<std::string>{"b-0", "c-0"}));
  failing_.clear();
  Next(Group({"a-0"}));
  EXPECT_EQ(fencer_.OnAssignment("a-0"), (std::vector<std::string>{"b-0"}));
  EXPECT_EQ(TakeFenced(), (std::vector<std::string>{"b-0"}));
  Next(Group({"a-0"}));
  EXPECT_TRUE(fencer_.OnAssignment("a-0").empty());
}

}  // namespace
}  // namespace eventflow::streams
