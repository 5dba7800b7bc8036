using Raft.Core.Engine;
using Raft.Core.Runtime;
using Raft.Testing.KeyValue;
using Raft.Testing.Linearizability;

namespace Raft.Testing.Simulation;

/// <summary>The client workload: Put, Get, Delete and Cas on a few keys, recorded for the linearizability check.</summary>
/// <remarks>
/// A Get goes through the log, or (<see cref="SimulationOptions.ReadIndexShare"/>) through ReadIndex: to the leader,
/// or to any node, which asks the leader for the read index and serves the read from its own state machine; on lease
/// seeds the leader answers from its lease. Both kinds land in the same checked history.
/// Each client has one operation in flight. A refusal before the entry was appended (not leader, dropped, node down)
/// and a <see cref="ProposalSupersededException"/> prove that the operation never took effect, so it leaves the
/// history. A crash of the node or the client's timeout leave the outcome unknown: the operation stays in the history
/// with no return, and may or may not have happened.
/// </remarks>
public sealed partial class Simulator
{
    private readonly SimClient[] _clients;
    private readonly HistoryRecorder<KvInput, KvOutput> _history = new();
    private readonly Dictionary<string, string> _lastProposedValue = new(StringComparer.Ordinal);
    private ClientStats _stats;

    private void StartClients()
    {
        foreach (var client in _clients)
        {
            Schedule(client.Random.NextLong(0, 50_000), new ClientStartEvent(client.Id));
        }
    }

    private void StartOperation(SimClient client)
    {
        if (client.Finished || client.OperationId is not null)
        {
            return;
        }

        var input = NextInput(client);
        var requestId = ((long)client.Id << 32) | (uint)client.Sequence;
        client.Sequence++;
        client.Input = input;
        client.InvokedAt = Now;
        client.OperationId = _history.Invoke(client.Id, input, Now);

        var readIndex = input.Op == KvOp.Get && client.Random.Chance(Options.ReadIndexShare);
        var followerRead = readIndex && client.Random.Chance(Options.FollowerReadShare);
        var target = followerRead || client.Target is null ? client.Random.Pick(ClientTargets()).Index : client.Target.Value;
        var node = _nodes[target];
        if (!node.IsUp)
        {
            // Connection refused: the request never reached a node.
            Trace($"client {client.Id} {Describe(input)} at {node.Id}: node down");
            client.Target = null;
            EndOperation(client, known: false, retryDelay: client.Random.NextLong(1_000, 10_000));
            return;
        }

        if (readIndex)
        {
            StartRead(client, input, node, followerRead);
            return;
        }

        var command = new KvCommand(ToCommandType(input.Op), requestId, input.Key, input.Value, input.Expected);
        node.Propose(command.Encode(), (outcome, completion) => OnProposed(client, input, node, outcome, completion));
    }

    // The node's engine answered the proposal (at once, or after the leader's writes in flight).
    private void OnProposed(SimClient client, KvInput input, SimNode node, ProposeOutcome outcome, Task<ProposalResult>? completion)
    {
        Trace($"client {client.Id} {Describe(input)} at {node.Id}: {outcome.Status} {(outcome.IsAccepted ? $"{outcome.Term}/{outcome.Index}" : outcome.LeaderHint)}");
        switch (outcome.Status)
        {
            case ProposeStatus.Accepted:
                client.Target = node.Index;
                client.Completion = completion;
                if (input.Value is not null)
                {
                    _lastProposedValue[input.Key] = input.Value;
                }

                Schedule(Options.ClientTimeoutMicros, new ClientTimeoutEvent(client.Id, client.OperationId!.Value));
                break;
            case ProposeStatus.NotLeader when outcome.LeaderHint is { } hint && hint != node.Id:
                client.Target = Network.IndexOf(hint);
                EndOperation(client, known: false, retryDelay: client.Random.NextLong(100, 1_000));
                break;
            default:
                // No leader known, or the leader dropped it: wait about an election before trying elsewhere.
                client.Target = null;
                EndOperation(client, known: false, retryDelay: client.Random.NextLong(1_000, Options.ElectionTick * Options.TickMicros));
                break;
        }
    }

    // Clients know the members, as a client configured with the cluster's addresses would: a spare whose addition never
    // committed is not one of them (no leader talks to it, so a read sent there would wait forever).
    private List<SimNode> ClientTargets() => _nodes.Where(node => node.IsActive && _joined.Contains(node.Id)).ToList();

    private void StartRead(SimClient client, KvInput input, SimNode node, bool followerRead)
    {
        var completion = new TaskCompletionSource<ReadOutcome>();
        node.ReadIndex(client.OperationId!.Value, input.Key, _committed.LastIndex, completion, outcome => OnReadIndex(client, input, node, followerRead, completion, outcome));
    }

    // The node's engine answered the read (at once, or after the leader's writes in flight).
    private void OnReadIndex(SimClient client, KvInput input, SimNode node, bool followerRead, TaskCompletionSource<ReadOutcome> completion, ProposeOutcome outcome)
    {
        Trace($"client {client.Id} {Describe(input)} by read index at {node.Id}: {outcome.Status} {outcome.LeaderHint}");
        switch (outcome.Status)
        {
            case ProposeStatus.Accepted:
                if (!followerRead)
                {
                    client.Target = node.Index;
                }

                client.ReadCompletion = completion.Task;
                client.ReadNode = node.Index;
                Schedule(Options.ClientTimeoutMicros, new ClientTimeoutEvent(client.Id, client.OperationId!.Value));
                break;
            case ProposeStatus.NotLeader when outcome.LeaderHint is { } hint && hint != node.Id && !followerRead:
                client.Target = Network.IndexOf(hint);
                EndOperation(client, known: false, retryDelay: client.Random.NextLong(100, 1_000));
                break;
            default:
                client.Target = null;
                EndOperation(client, known: false, retryDelay: client.Random.NextLong(1_000, Options.ElectionTick * Options.TickMicros));
                break;
        }
    }

    // After every event: resolve the operations whose proposals or reads resolved.
    private void PollClients()
    {
        foreach (var client in _clients)
        {
            if (client.Completion is { IsCompleted: true } completion)
            {
                client.Completion = null;
                Resolve(client, completion);
            }
            else if (client.ReadCompletion is { IsCompleted: true } read)
            {
                client.ReadCompletion = null;
                ResolveRead(client, read.Result);
            }
        }
    }

    private void ResolveRead(SimClient client, ReadOutcome read)
    {
        var input = client.Input!;
        if (!read.Served)
        {
            // Abandoned before it was served: a read has no effect, so it simply did not happen.
            Trace($"client {client.Id} {Describe(input)} by read index abandoned");
            EndOperation(client, known: false, retryDelay: client.Random.NextLong(0, Options.MaxThinkMicros + 1));
            return;
        }

        var output = KvOutput.Read(read.Value);
        _history.Complete(client.OperationId!.Value, output, Now);
        _stats.Completed++;
        _features.IndexReads++;
        client.LastSeen[input.Key] = read.Value;
        if (_leaderAt is { } leaderAt && client.InvokedAt >= leaderAt)
        {
            client.LivenessCompleted++;
        }

        Trace($"client {client.Id} {KvModel.Instance.Describe(input, output)} at read index {read.ReadIndex} (applied {read.AppliedIndex})");
        EndOperation(client, known: true, retryDelay: client.Random.NextLong(0, Options.MaxThinkMicros + 1));
    }

    private void Resolve(SimClient client, Task<ProposalResult> completion)
    {
        var input = client.Input!;
        if (completion.IsCompletedSuccessfully)
        {
            var result = KvResult.Decode(completion.Result.Response.Span);
            var output = input.Op switch
            {
                KvOp.Get => KvOutput.Read(result.Value),
                KvOp.Cas => KvOutput.CasResult(result.Ok),
                _ => KvOutput.Done(),
            };
            _history.Complete(client.OperationId!.Value, output, Now);
            _stats.Completed++;
            client.LastSeen[input.Key] = input.Op switch
            {
                KvOp.Get => result.Value,
                KvOp.Put => input.Value,
                KvOp.Delete => null,
                _ => result.Ok ? input.Value : result.Value,
            };
            if (_leaderAt is { } leaderAt && client.InvokedAt >= leaderAt)
            {
                client.LivenessCompleted++;
            }

            Trace($"client {client.Id} {KvModel.Instance.Describe(input, output)} at {completion.Result.Index}");
            EndOperation(client, known: true, retryDelay: client.Random.NextLong(0, Options.MaxThinkMicros + 1));
        }
        else if (completion.Exception?.InnerException is ProposalSupersededException superseded)
        {
            Trace($"client {client.Id} {Describe(input)} superseded: {superseded.Message}");
            ObserveSuperseded(superseded.Index, superseded.Term, $"client {client.Id}'s {Describe(input)} was reported superseded at {superseded.Index}/{superseded.Term}");
            EndOperation(client, known: false, retryDelay: client.Random.NextLong(0, Options.MaxThinkMicros + 1));
        }
        else
        {
            var why = completion.Exception?.InnerException?.Message;
            Trace($"client {client.Id} {Describe(input)} outcome unknown: {why}");
            Unknown(client, why ?? "its node stopped");
        }
    }

    private void TimeOut(SimClient client, long operationId)
    {
        if (client.OperationId == operationId && client.ReadCompletion is not null)
        {
            client.ReadCompletion = null;
            var node = _nodes[client.ReadNode];
            var confirmedAt = node.ForgetRead(operationId);
            Trace($"client {client.Id} {Describe(client.Input!)} by read index at {node.Id} timed out " +
                (confirmedAt is { } index ? $"waiting to apply through read index {index} (applied {node.AppliedIndex})" : "before a read index was confirmed"));

            // Without faults the leader confirms a read index within a heartbeat round; applying through it may take
            // longer on a node that is still catching up (a new learner, a small pipelining window), which is no stall.
            if (_leaderAt is { } leaderAt && client.InvokedAt >= leaderAt && confirmedAt is null)
            {
                throw Failure(LivenessName, $"client {client.Id}'s read by read index at {node.Id}, sent after the leader emerged without faults, never got a read index.");
            }

            // A read that was never answered had no effect: it leaves the history.
            EndOperation(client, known: false, retryDelay: client.Random.NextLong(0, Options.MaxThinkMicros + 1));
            return;
        }

        if (client.OperationId == operationId && client.Completion is not null)
        {
            client.Completion = null;
            Trace($"client {client.Id} {Describe(client.Input!)} timed out");
            Unknown(client, "it timed out");
        }
    }

    private void Unknown(SimClient client, string why)
    {
        _stats.Unknown++;

        // A change the operator left pending when faults stopped may remove the leader in the liveness phase; the
        // removed node is shut down, and what it had accepted since ends unknown, as it would for its clients.
        var removed = client.Target is { } target && _nodes[target].State == NodeState.Retired;
        if (_leaderAt is { } leaderAt && client.InvokedAt >= leaderAt && !removed)
        {
            throw Failure("Liveness", $"client {client.Id}'s {Describe(client.Input!)}, sent after the leader emerged without faults, lost its outcome: {why}.");
        }

        // The recorder keeps it pending: Build turns it into an operation with an unknown outcome.
        client.OperationId = null;
        client.Input = null;
        NextOperation(client, client.Random.NextLong(0, Options.MaxThinkMicros + 1));
    }

    // known: completed with a result (already recorded); otherwise it is known not to have happened.
    private void EndOperation(SimClient client, bool known, long retryDelay)
    {
        if (!known)
        {
            _history.Fail(client.OperationId!.Value, Now);
            _stats.Failed++;
        }

        client.OperationId = null;
        client.Input = null;
        NextOperation(client, retryDelay);
    }

    private void NextOperation(SimClient client, long delay)
    {
        if (_leaderAt is not null && client.LivenessCompleted >= Options.LivenessOperationsPerClient)
        {
            client.Finished = true;
            return;
        }

        Schedule(delay, new ClientStartEvent(client.Id));
    }

    private KvInput NextInput(SimClient client)
    {
        var random = client.Random;
        var key = $"k{random.Next(Options.KeyCount)}";
        var value = $"c{client.Id}.{client.Sequence}";
        if (random.Chance(Options.ReadShare))
        {
            return KvInput.Get(key);
        }

        // Writes: Put 3/7, Cas 5/14, Delete 3/14 (with the default read share: 30, 25 and 15 in 100).
        var roll = random.Next(70);
        if (roll < 30)
        {
            return KvInput.Put(key, value);
        }

        if (roll < 55)
        {
            // Aim at a value the key may hold, so that some swaps succeed and some fail.
            var aim = random.Next(10);
            var expected = aim < 5 ? client.LastSeen.GetValueOrDefault(key)
                : aim < 8 ? _lastProposedValue.GetValueOrDefault(key)
                : null;
            return KvInput.Cas(key, expected, value);
        }

        return KvInput.Delete(key);
    }

    private static KvCommandType ToCommandType(KvOp op) => op switch
    {
        KvOp.Get => KvCommandType.Get,
        KvOp.Put => KvCommandType.Put,
        KvOp.Delete => KvCommandType.Delete,
        _ => KvCommandType.Cas,
    };

    private static string Describe(KvInput input) => KvModel.Instance.Describe(input, KvOutput.Indeterminate).Replace(" -> unknown", string.Empty, StringComparison.Ordinal);

    private struct ClientStats
    {
        public int Completed;
        public int Failed;
        public int Unknown;
    }
}
