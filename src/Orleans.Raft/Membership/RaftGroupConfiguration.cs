using Raft.Core.Membership;

namespace Orleans.Raft.Membership;

/// <summary>The members of a Raft grain storage's group, as <see cref="IRaftMembershipGrain"/> returns them.</summary>
/// <param name="Voters">The voting members' node ids, in order.</param>
/// <param name="Learners">The members that receive the log without voting, in order.</param>
[GenerateSerializer, Immutable]
public sealed record RaftGroupConfiguration([property: Id(0)] string[] Voters, [property: Id(1)] string[] Learners)
{
    internal static RaftGroupConfiguration From(ClusterConfiguration configuration) => new([.. configuration.Voters], [.. configuration.Learners]);

    /// <inheritdoc />
    public override string ToString() => $"voters [{string.Join(", ", Voters)}], learners [{string.Join(", ", Learners)}]";
}
