using System.Text;
using Raft.Core.Engine;
using Raft.Core.Messages;
using Raft.Core.Runtime;

namespace Raft.Core.Tests.Runtime;

/// <summary>
/// The proposal tracker fed by real engines, as the runtime feeds it: proposals registered at the (index, term)
/// <see cref="RawNode.Propose"/> accepted them at, every entry the node applies reported in order.
/// </summary>
public sealed class ProposalTrackerLeadershipTests
{
    private static readonly string[] Ids = ["n1", "n2", "n3", "n4", "n5"];

    private readonly Dictionary<string, RawNode> _nodes = Ids.ToDictionary(id => id, id => new RawNode(new RaftOptions
    {
        Id = id,
        Voters = Ids,
        // Every election below is started by hand, as an election timeout would start it after a silence; the voters
        // judge it by their logs alone.
        PreVote = false,
        CheckQuorum = false,
        RandomSeed = 1,
    }));

    private readonly Dictionary<string, List<Entry>> _applied = Ids.ToDictionary(id => id, _ => new List<Entry>());
    private readonly ProposalTracker _n1Proposals = new();

    // Five voters. n1's term-1 proposal p3 reaches n2 only; n1 loses it to term 2's leader, then leads term 3 and
    // appends a new proposal q at p3's index. The old rule failed p3 as superseded there, but only n1 had dropped it:
    // n2 still holds it, wins term 4 with the votes of n4 and n5, and commits it. n1 must report p3 applied, and q lost.
    [Fact]
    public async Task AnOlderProposalDisplacedInItsLeadersLog_IsAppliedWhenAnotherLeaderCommitsIt()
    {
        _nodes["n1"].Campaign();
        Exchange(electing: Ids, connected: Ids); // n1 leads term 1; everyone commits its no-op

        // 1. n1's proposals reach n2 only: not committed.
        var p1 = Propose("n1", "p1");
        var p2 = Propose("n1", "p2");
        var p3 = Propose("n1", "p3");
        Exchange(electing: [], connected: ["n1", "n2"]);

        // 2. n3 wins term 2 (n4 and n5 lack p1-p3 too); its no-op reaches n1 only, which drops p1-p3 for it.
        _nodes["n3"].Campaign();
        Exchange(electing: ["n3", "n4", "n5"], connected: ["n3", "n1"]);
        Assert.Equal(StateRole.Leader, _nodes["n3"].Status.Role);
        Assert.Equal(p1.Index, _nodes["n1"].Status.LastIndex);

        // 3. n1 wins term 3 (its term-2 entry beats n2's term-1 ones) and appends q at p3's index, reaching no one.
        _nodes["n1"].Campaign();
        Exchange(electing: ["n1", "n2", "n4"], connected: ["n1"]);
        var q = Propose("n1", "q");
        Exchange(electing: [], connected: ["n1"]);
        Assert.Equal((p3.Index, 3L), (q.Index, q.Term));
        Assert.False(p3.Completion.Task.IsCompleted, "n2 still holds p3 and may yet commit it.");

        // 4. n2 wins term 4 (n4 and n5 hold nothing past term 1) and commits its no-op, and with it p1-p3.
        _nodes["n2"].Campaign();
        Exchange(electing: ["n2", "n4", "n5"], connected: ["n2", "n4", "n5"]);
        Assert.Equal(StateRole.Leader, _nodes["n2"].Status.Role);
        Assert.True(_nodes["n2"].Status.CommitIndex > p3.Index);

        // The partition heals: n2's heartbeat tells n1 and n3 of term 4, and they catch up.
        _nodes["n2"].Heartbeat();
        Exchange(electing: Ids, connected: Ids);

        Assert.All(Ids, id => Assert.Contains(_applied[id], e => e.Index == p3.Index && e.Term == 1 && Text(e.Data) == "p3"));
        foreach (var applied in new[] { p1, p2, p3 })
        {
            var result = await applied.Completion.Task;
            Assert.Equal(applied.Index, result.Index);
            Assert.Equal(Text(applied.Command), Text(result.Response));
        }

        var lost = await Assert.ThrowsAsync<ProposalSupersededException>(() => q.Completion.Task);
        Assert.Equal((q.Index, q.Term), (lost.Index, lost.Term));
        Assert.Equal(0, _n1Proposals.Count);
    }

    private Proposal Propose(string id, string command)
    {
        var data = Encoding.UTF8.GetBytes(command);
        var outcome = _nodes[id].Propose(data);
        Assert.Equal(ProposeStatus.Accepted, outcome.Status);
        var proposal = new Proposal(outcome.Index, outcome.Term, data, new(TaskCreationOptions.RunContinuationsAsynchronously));
        _n1Proposals.Register(proposal.Index, proposal.Term, proposal.Completion);
        return proposal;
    }

    /// <summary>
    /// Handles every node's readies and delivers their messages until nothing moves. Vote requests and replies travel
    /// only among <paramref name="electing"/>, every other message only among <paramref name="connected"/>; the rest
    /// are lost. Nothing ticks, so nobody times out or heartbeats unless told to.
    /// </summary>
    private void Exchange(string[] electing, string[] connected)
    {
        while (true)
        {
            var sent = new List<Message>();
            foreach (var (id, node) in _nodes)
            {
                while (node.HasReady())
                {
                    var ready = node.GetReady();
                    sent.AddRange(ready.Messages);
                    sent.AddRange(ready.PersistedMessages); // the in-memory engine's writes are durable at once
                    foreach (var entry in ready.CommittedEntries)
                    {
                        _applied[id].Add(entry);
                        if (id == "n1")
                        {
                            // An echoing state machine: a command's response is the command.
                            _n1Proposals.OnApplied(entry, entry.Data);
                        }
                    }

                    node.Advance(ready);
                }
            }

            if (sent.Count == 0)
            {
                return;
            }

            foreach (var message in sent)
            {
                var among = message.Type is MessageType.Vote or MessageType.VoteResponse ? electing : connected;
                if (among.Contains(message.From) && among.Contains(message.To))
                {
                    _nodes[message.To].Step(message);
                }
            }
        }
    }

    private static string Text(ReadOnlyMemory<byte> data) => Encoding.UTF8.GetString(data.Span);

    private sealed record Proposal(long Index, long Term, byte[] Command, TaskCompletionSource<ProposalResult> Completion);
}
