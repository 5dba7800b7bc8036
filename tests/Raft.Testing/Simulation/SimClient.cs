using Raft.Core.Runtime;
using Raft.Testing.KeyValue;
using Raft.Testing.Linearizability;

namespace Raft.Testing.Simulation;

/// <summary>One simulated client: one operation at a time, sent to the node it believes leads.</summary>
internal sealed class SimClient
{
    public SimClient(int id, SimRandom random)
    {
        Id = id;
        Random = random;
    }

    public int Id { get; }

    public SimRandom Random { get; }

    /// <summary>The node this client sends to next, or null to pick one at random.</summary>
    public int? Target { get; set; }

    /// <summary>Operations issued so far; also numbers values and request ids.</summary>
    public int Sequence { get; set; }

    /// <summary>The history id of the operation in flight, or null when idle.</summary>
    public long? OperationId { get; set; }

    public KvInput? Input { get; set; }

    /// <summary>The accepted proposal's completion, while it is pending.</summary>
    public Task<ProposalResult>? Completion { get; set; }

    /// <summary>The ReadIndex read in flight, while it is pending.</summary>
    public Task<ReadOutcome>? ReadCompletion { get; set; }

    /// <summary>The node serving the ReadIndex read in flight.</summary>
    public int ReadNode { get; set; }

    /// <summary>When the operation in flight was invoked.</summary>
    public long InvokedAt { get; set; }

    /// <summary>The last value this client saw for each key (read or written), to aim compare-and-sets at.</summary>
    public Dictionary<string, string?> LastSeen { get; } = new(StringComparer.Ordinal);

    /// <summary>Operations completed with a known result after the liveness phase's leader emerged.</summary>
    public int LivenessCompleted { get; set; }

    /// <summary>True once the client has done its share in the liveness phase and sends nothing more.</summary>
    public bool Finished { get; set; }
}
