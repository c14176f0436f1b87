#include "knock/lib/knock_plan.h"

#include "common/bound_sequence.h"
#include "common/knock_sequence.h"
#include "knock/lib/client_state.h"

namespace knock {

namespace {

bool ChooseSlot(const PlanRequest& request, const SlotScope& scope, int* slot,
                std::string* err) {
  const int slots = request.server->slots;
  PendingRecord settled_here;
  PendingRecord* pending =
      request.pending != nullptr ? request.pending : &settled_here;
  if (request.pinned_slot) {
    *slot = *request.pinned_slot;
    if (!request.record) return true;
    return ReserveSlot(request.state_path, scope, *slot, request.now_unix,
                       pending, err) &&
           (pending != &settled_here || settled_here.Settle(err));
  }
  if (!request.record)
    return PeekFreeSlot(request.state_path, scope, slots, request.now_unix,
                        slot, err);
  return ReserveFreeSlot(request.state_path, scope, slots, request.now_unix,
                         slot, pending, err) &&
         (pending != &settled_here || settled_here.Settle(err));
}

}  // namespace

bool MakeKnockPlan(const PlanRequest& request, KnockPlan* plan,
                   std::string* err) {
  const ServerEntry& server = *request.server;
  plan->window = WindowAt(request.at_unix, server.step_seconds);
  SlotScope scope{server.public_key, request.service, server.step_seconds,
                  plan->window, server.name + "/" + request.service};
  if (!ChooseSlot(request, scope, &plan->slot, err)) return false;
  const SequenceId id{plan->window, static_cast<uint8_t>(plan->slot),
                      request.service};
  const SequenceShape shape{server.ports.first, server.ports.size(),
                            server.count};
  plan->bound_to = request.bound_to;
  if (!request.bound_to)
    return DeriveSequence(request.pair_key, id, shape, &plan->ports, err);
  BoundSequence bound;
  if (!DeriveBoundSequence(request.pair_key, id, shape, *request.bound_to,
                           &bound, err))
    return false;
  plan->ports = BoundSendingOrder(bound);
  plan->head = std::move(bound.head);
  plan->tail = std::move(bound.tail);
  return true;
}

}  // namespace knock
