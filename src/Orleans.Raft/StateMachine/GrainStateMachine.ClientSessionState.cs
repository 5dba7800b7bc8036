using System.Diagnostics;

namespace Orleans.Raft.StateMachine;

public sealed partial class GrainStateMachine
{
    // One client session (thesis §6.3): the answers of requests the client has not acknowledged yet. Every applied
    // command adds one answer and usually acknowledges one, so both stay O(1) or O(log n) on arrays that are reused:
    // a hash map for the look-up and a min-heap of the same request ids for dropping the acknowledged ones in order
    // (a sorted tree allocated a node per answer and an enumerator per acknowledgment).
    private sealed class ClientSessionState(long id, long lastActivity)
    {
        // Invariant: _order holds exactly the keys of _answers; every key is >= LowestUnacknowledged.
        private readonly Dictionary<long, CommandAnswer> _answers = [];
        private readonly PriorityQueue<long, long> _order = new();

        public long Id { get; } = id;

        // The log index of the session's latest command; the idlest session is evicted first.
        public long LastActivity { get; set; } = lastActivity;

        // Never decreases.
        public long LowestUnacknowledged { get; private set; }

        public int AnswerCount => _answers.Count;

        public bool TryGetAnswer(long requestId, out CommandAnswer answer) => _answers.TryGetValue(requestId, out answer);

        public void AddAnswer(long requestId, CommandAnswer answer)
        {
            Debug.Assert(requestId >= LowestUnacknowledged, "An acknowledged request is answered as stale, never stored.");
            if (_answers.TryAdd(requestId, answer))
            {
                _order.Enqueue(requestId, requestId);
            }
            else
            {
                _answers[requestId] = answer;
            }
        }

        // The answers by request id, lowest first: snapshots list them in this order, so the bytes do not depend on
        // the hash map's layout.
        public IEnumerable<KeyValuePair<long, CommandAnswer>> AnswersInOrder() => _answers.OrderBy(a => a.Key);

        public void Acknowledge(long lowestUnacknowledged)
        {
            if (lowestUnacknowledged <= LowestUnacknowledged)
            {
                return;
            }

            LowestUnacknowledged = lowestUnacknowledged;
            while (_order.TryPeek(out var first, out _) && first < lowestUnacknowledged)
            {
                _order.Dequeue();
                _answers.Remove(first);
            }

            Debug.Assert(_order.Count == _answers.Count, "The heap and the map hold the same request ids.");
        }

        public void Restore(long lowestUnacknowledged) => LowestUnacknowledged = lowestUnacknowledged;
    }
}
