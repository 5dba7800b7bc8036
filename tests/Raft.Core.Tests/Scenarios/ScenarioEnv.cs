using System.Globalization;
using System.Text;
using Raft.Core.Engine;
using Raft.Core.Membership;
using Raft.Core.Messages;
using Raft.Core.Runtime;
using Raft.Core.Storage;
using Raft.Core.Transport;

namespace Raft.Core.Tests.Scenarios;

/// <summary>
/// Runs scenario commands against a set of engines in one thread, handling each Ready through the runtime's
/// <see cref="ReadyProcessor"/> with in-memory stores, and prints what happens so scripts can assert on it.
/// </summary>
internal sealed partial class ScenarioEnv
{
    private readonly SortedDictionary<string, ScenarioNode> _nodes = new(StringComparer.Ordinal);
    private readonly List<Message> _mailbox = [];
    private readonly HashSet<(string From, string To)> _cut = [];
    private RaftOptions _template = new() { Id = "1", Voters = ["1"], RandomSeed = 1 };

    public string Run(ScriptBlock block)
    {
        var output = new StringBuilder();
        var parts = block.Command.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var args = parts.Skip(1).ToArray();
        switch (parts[0])
        {
            case "add-nodes": AddNodes(args, output); break;
            case "campaign": Node(args[0]).Raw.Campaign(); break;
            case "heartbeat": Node(args[0]).Raw.Heartbeat(); break;
            case "tick": Tick(args, output); break;
            case "propose": Propose(args, output); break;
            case "stabilize": Stabilize(output); break;
            case "round": Round(args, output); break;
            case "process-ready": ProcessReady(Node(args[0]), output); break;
            case "deliver-msgs": DeliverMessages(args, output); break;
            case "drop-msgs": _mailbox.Clear(); break;
            case "isolate": Isolate(args[0]); break;
            case "cut": Cut(args); break;
            case "heal": _cut.Clear(); break;
            case "crash": Node(args[0]).Crash(); break;
            case "restart": Node(args[0]).Restart(_template with { Id = args[0] }); break;
            case "set-log": SetLog(args); break;
            case "status": Status(args, output); break;
            case "add-learner": ChangeConfiguration(ConfigurationChangeKind.AddLearner, args, output); break;
            case "promote": ChangeConfiguration(ConfigurationChangeKind.PromoteLearner, args, output); break;
            case "remove": ChangeConfiguration(ConfigurationChangeKind.Remove, args, output); break;
            case "transfer": Transfer(args, output); break;
            case "read-index": ReadIndex(args, output); break;
            case "config":
                foreach (var node in _nodes.Values.Where(n => n.IsUp && (args.Length == 0 || args.Contains(n.Id))))
                {
                    output.Append(CultureInfo.InvariantCulture, $"{node.Id}: {node.Raw.Status.Configuration}\n");
                }

                break;
            case "log": Log(args[0], output); break;
            default: throw new InvalidOperationException($"line {block.Line}: unknown command '{parts[0]}'.");
        }

        return output.ToString();
    }

    private ScenarioNode Node(string id) =>
        _nodes.TryGetValue(id, out var node) ? node : throw new InvalidOperationException($"no node '{id}'.");

    private static Dictionary<string, string> Named(IEnumerable<string> args) =>
        args.Where(a => a.Contains('=')).Select(a => a.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);

    private void AddNodes(string[] args, StringBuilder output)
    {
        var count = int.Parse(args[0], CultureInfo.InvariantCulture);
        var named = Named(args);
        var ids = Enumerable.Range(1, count).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
        _template = new RaftOptions
        {
            Id = "1",
            Voters = ids,
            PreVote = !named.TryGetValue("prevote", out var pv) || bool.Parse(pv),
            CheckQuorum = !named.TryGetValue("checkquorum", out var cq) || bool.Parse(cq),
            ElectionTick = named.TryGetValue("election", out var e) ? int.Parse(e, CultureInfo.InvariantCulture) : 10,
            HeartbeatTick = named.TryGetValue("heartbeat", out var h) ? int.Parse(h, CultureInfo.InvariantCulture) : 1,
            MaxInflightMessages = named.TryGetValue("inflight", out var inflight) ? int.Parse(inflight, CultureInfo.InvariantCulture) : 64,
            ReadOnlyOption = named.TryGetValue("reads", out var reads) && reads == "lease" ? ReadOnlyOption.LeaseBased : ReadOnlyOption.Safe,
            MaxSizePerMessage = named.TryGetValue("maxsize", out var size) ? long.Parse(size, CultureInfo.InvariantCulture) : 1024 * 1024,
            // The scripts trace message by message; they pipeline every batch unless they say otherwise.
            MinPipelinedAppendBytes = named.TryGetValue("pipeline", out var pipeline) ? long.Parse(pipeline, CultureInfo.InvariantCulture) : 0,
            RandomSeed = 1,
        };
        foreach (var id in ids)
        {
            var node = new ScenarioNode(id, this);
            node.Restart(_template with { Id = id });
            _nodes[id] = node;
        }

        output.Append(CultureInfo.InvariantCulture, $"{count} nodes: {string.Join(" ", ids)}\n");
    }

    /// <summary>add-learner|promote|remove LEADER ID: proposes the change on LEADER; add-learner also starts node ID.</summary>
    private void ChangeConfiguration(ConfigurationChangeKind kind, string[] args, StringBuilder output)
    {
        var leader = Node(args[0]);
        var id = args[1];
        if (kind == ConfigurationChangeKind.AddLearner && !_nodes.ContainsKey(id))
        {
            // A joining node starts empty and learns the configuration from the leader's log.
            var node = new ScenarioNode(id, this);
            node.Restart(_template with { Id = id });
            _nodes[id] = node;
        }

        Print(output, leader.Raw.ProposeConfigurationChange(new ConfigurationChange(kind, id)));
    }

    private void Transfer(string[] args, StringBuilder output)
    {
        var outcome = Node(args[0]).Raw.TransferLeadership(args.Length > 1 ? args[1] : null);
        output.Append(outcome.Status == ProposeStatus.Accepted
            ? $"transferring to {outcome.LeaderHint}\n"
            : $"{outcome.Status}: {outcome.Reason ?? outcome.LeaderHint ?? "unknown leader"}\n");
    }

    private void ReadIndex(string[] args, StringBuilder output)
    {
        var outcome = Node(args[0]).Raw.ReadIndex(Encoding.UTF8.GetBytes(args[1]));
        output.Append(outcome.Status == ProposeStatus.Accepted
            ? "read requested\n"
            : $"{outcome.Status} (leader: {outcome.LeaderHint ?? "unknown"})\n");
    }

    private static void Print(StringBuilder output, ProposeOutcome outcome) =>
        output.Append(outcome.Status switch
        {
            ProposeStatus.Accepted => $"accepted at {outcome.Term}/{outcome.Index}\n",
            ProposeStatus.NotLeader => $"not leader (leader: {outcome.LeaderHint ?? "unknown"})\n",
            _ => $"{outcome.Status.ToString().ToLowerInvariant()}: {outcome.Reason}\n",
        });

    private void Tick(string[] args, StringBuilder output)
    {
        var node = Node(args[0]);
        var count = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1;
        var before = node.Raw.Status.Role;
        for (var i = 0; i < count; i++)
        {
            node.Raw.Tick();
        }

        var after = node.Raw.Status;
        if (after.Role != before)
        {
            output.Append(CultureInfo.InvariantCulture, $"{node.Id} became {after.Role} at term {after.Term}\n");
        }
    }

    private void Propose(string[] args, StringBuilder output)
    {
        var node = Node(args[0]);
        Print(output, node.Raw.Propose(Encoding.UTF8.GetBytes(args[1])));
    }

    /// <summary>Handles ready and delivers messages until nothing moves.</summary>
    private void Stabilize(StringBuilder output)
    {
        while (true)
        {
            var moved = false;
            foreach (var node in _nodes.Values.Where(n => n.IsUp))
            {
                while (node.Raw.HasReady())
                {
                    ProcessReady(node, output);
                    moved = true;
                }
            }

            if (_mailbox.Count > 0)
            {
                DeliverMessages([], output);
                moved = true;
            }

            if (!moved)
            {
                return;
            }
        }
    }

    /// <summary>round [N]: N times, every live node handles its ready once, then all queued messages are delivered.</summary>
    private void Round(string[] args, StringBuilder output)
    {
        var count = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1;
        for (var i = 0; i < count; i++)
        {
            foreach (var node in _nodes.Values.Where(n => n.IsUp))
            {
                ProcessReady(node, output);
            }

            DeliverMessages([], output);
        }
    }

    private void ProcessReady(ScenarioNode node, StringBuilder output)
    {
        if (!node.IsUp || !node.Raw.HasReady())
        {
            return;
        }

        var ready = node.Raw.GetReady();
        output.Append(CultureInfo.InvariantCulture, $"> {node.Id} handling Ready\n");
        if (ready.SoftState is { } soft)
        {
            output.Append(CultureInfo.InvariantCulture, $"  Lead:{soft.LeaderId ?? "none"} State:{soft.Role} Term:{soft.Term}\n");
        }

        if (ready.HardState is { } hard)
        {
            output.Append(CultureInfo.InvariantCulture, $"  HardState Term:{hard.Term} Vote:{hard.VotedFor ?? "none"} Commit:{hard.Commit}\n");
        }

        if (ready.Entries.Count > 0)
        {
            output.Append("  Entries: ").Append(string.Join(", ", ready.Entries)).Append('\n');
        }

        foreach (var m in ready.Messages)
        {
            output.Append("  Send: ").Append(Format(m)).Append('\n');
        }

        foreach (var m in ready.PersistedMessages)
        {
            output.Append("  Send after persist: ").Append(Format(m)).Append('\n');
        }

        if (ready.CommittedEntries.Count > 0)
        {
            output.Append("  Apply: ").Append(string.Join(", ", ready.CommittedEntries.Select(Describe))).Append('\n');
        }

        if (ready.Snapshot is { } snapshot)
        {
            output.Append(CultureInfo.InvariantCulture, $"  Install snapshot: {snapshot.Term}/{snapshot.Index} {snapshot.Configuration}\n");
        }

        foreach (var read in ready.ReadStates)
        {
            output.Append(CultureInfo.InvariantCulture, $"  Read ready: index {read.Index} for {Encoding.UTF8.GetString(read.Context.Span)}\n");
        }

        var task = node.Processor.PersistAndSendAsync(ready);
        if (!task.IsCompletedSuccessfully)
        {
            throw new InvalidOperationException("in-memory persistence must complete synchronously.");
        }

        node.Raw.Advance(ready);
    }

    private void DeliverMessages(string[] args, StringBuilder output)
    {
        var only = args.Length > 0 ? args[0] : null;
        var batch = _mailbox.Where(m => only is null || m.To == only).ToList();
        foreach (var m in batch)
        {
            _mailbox.Remove(m);
        }

        foreach (var m in batch)
        {
            if (_cut.Contains((m.From, m.To)) || !_nodes.TryGetValue(m.To, out var to) || !to.IsUp)
            {
                output.Append("  Dropped: ").Append(Format(m)).Append('\n');
                continue;
            }

            var before = to.Raw.Status;
            to.Raw.Step(m);
            var after = to.Raw.Status;
            if (after.Role != before.Role || after.Term != before.Term)
            {
                output.Append(CultureInfo.InvariantCulture, $"  {to.Id} became {after.Role} at term {after.Term}\n");
            }
        }
    }

    private void Isolate(string id)
    {
        foreach (var other in _nodes.Keys.Where(k => k != id))
        {
            _cut.Add((id, other));
            _cut.Add((other, id));
        }
    }

    // cut A B: messages from A to B are dropped (one-way); "cut A B both" drops both directions.
    private void Cut(string[] args)
    {
        _cut.Add((args[0], args[1]));
        if (args.Length > 2 && args[2] == "both")
        {
            _cut.Add((args[1], args[0]));
        }
    }

    /// <summary>set-log ID term=T [vote=V] [commit=C] entries=t,t,t — replaces the node's durable state and restarts it.</summary>
    private void SetLog(string[] args)
    {
        var node = Node(args[0]);
        var named = Named(args);
        var terms = named.TryGetValue("entries", out var list) && list.Length > 0
            ? list.Split(',').Select(t => long.Parse(t, CultureInfo.InvariantCulture)).ToArray()
            : [];
        var entries = terms.Select((t, i) => new Entry(i + 1, t, EntryType.Normal, ReadOnlyMemory<byte>.Empty)).ToArray();
        var hard = new HardState(
            long.Parse(named["term"], CultureInfo.InvariantCulture),
            named.GetValueOrDefault("vote"),
            named.TryGetValue("commit", out var c) ? long.Parse(c, CultureInfo.InvariantCulture) : 0);
        node.Reset(hard, entries, _template with { Id = node.Id });
    }

    private void Status(string[] args, StringBuilder output)
    {
        foreach (var node in _nodes.Values.Where(n => args.Length == 0 || args.Contains(n.Id)))
        {
            if (!node.IsUp)
            {
                output.Append(CultureInfo.InvariantCulture, $"{node.Id}: down\n");
                continue;
            }

            var s = node.Raw.Status;
            output.Append(CultureInfo.InvariantCulture,
                $"{s.Id}: {s.Role} term={s.Term} vote={s.VotedFor ?? "none"} lead={s.LeaderId ?? "none"} last={s.LastIndex} commit={s.CommitIndex} applied={s.AppliedIndex}\n");
        }
    }

    private void Log(string id, StringBuilder output)
    {
        var node = Node(id);
        var store = node.LogStore;
        if (store.LastIndex < store.FirstIndex)
        {
            output.Append("empty\n");
            return;
        }

        var read = store.ReadAsync(store.FirstIndex, store.LastIndex);
        output.Append(string.Join(", ", read.Result.Select(Describe))).Append('\n');
    }

    private static string Describe(Entry e) =>
        e.Type == EntryType.ConfigChange ? $"{e.Term}/{e.Index} Config {ClusterConfiguration.Decode(e.Data.Span)}" : e.ToString();

    private static string Format(Message m)
    {
        var s = $"{m.From}->{m.To} {m.Type} Term:{m.Term} Log:{m.LogTerm}/{m.Index}";
        if (m.Type is MessageType.AppendEntries or MessageType.Heartbeat)
        {
            s += $" Commit:{m.Commit}";
        }

        if (m.Entries.Count > 0)
        {
            s += " Entries:[" + string.Join(", ", m.Entries.Select(Describe)) + "]";
        }

        if (m.Reject)
        {
            s += $" Rejected (Hint: {m.RejectHint})";
        }

        if (!m.Context.IsEmpty)
        {
            s += " Context:" + Encoding.UTF8.GetString(m.Context.Span);
        }

        return s;
    }

    /// <summary>One node: an engine over durable in-memory stores, which survive a crash.</summary>
    private sealed class ScenarioNode(string id, ScenarioEnv env) : IRaftTransport
    {
        public string Id { get; } = id;

        public RawNode Raw { get; private set; } = null!;

        public bool IsUp { get; private set; }

        public InMemoryLogStore LogStore { get; private set; } = new();

        public InMemoryHardStateStore HardStateStore { get; private set; } = new();

        public ReadyProcessor Processor { get; private set; } = null!;

        public void Crash() => IsUp = false;

        public void Restart(RaftOptions options)
        {
            var hard = HardStateStore.LoadAsync().Result;
            var entries = LogStore.LastIndex >= LogStore.FirstIndex
                ? LogStore.ReadAsync(LogStore.FirstIndex, LogStore.LastIndex).Result
                : [];
            Raw = new RawNode(options, new InitialState(hard, entries));
            Processor = new ReadyProcessor(LogStore, HardStateStore, this);
            IsUp = true;
        }

        public void Reset(HardState hard, IReadOnlyList<Entry> entries, RaftOptions options)
        {
            LogStore = new InMemoryLogStore();
            HardStateStore = new InMemoryHardStateStore();
            _ = LogStore.AppendAsync(entries).AsTask().IsCompletedSuccessfully;
            _ = HardStateStore.SaveAsync(hard).AsTask().IsCompletedSuccessfully;
            Restart(options);
        }

        public void Start(IRaftMessageHandler handler)
        {
        }

        public void Send(Message message) => env._mailbox.Add(message);

        // Scenarios deliver InstallSnapshot as a plain message (see DeliverMessages); no data travels.
        public Task SendSnapshotAsync(Message message, Stream data, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException("Scenario nodes exchange snapshot metadata only.");

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
