namespace Orleans.Raft.Membership;

/// <summary>
/// Changes who holds the grain state of a Raft grain storage, from any silo or an Orleans client: the grain's key is
/// the provider's name (as in <c>[PersistentState("state", "raft")]</c>).
/// </summary>
/// <remarks>
/// Each call runs on the silo that receives it (a stateless worker), whose Raft grain storage forwards it to the
/// leader's silo (<c>RaftGrainStorage.AddVoterAsync</c> and <c>RemoveMemberAsync</c>; README, "Adding, removing and
/// replacing silos"). The changes are safe to retry. A failure that calls for a retry (no leader known, leadership
/// moved, another change pending, the leader's answer lost) is a <see cref="RaftMembershipChangeException"/>; a call
/// that outlives Orleans' response timeout (30 s by default; a joining silo that must catch up on a large log can take
/// longer) goes on in the silo, and a retry then waits for it or finds it done.
/// </remarks>
/// <example>
/// <code>
/// var members = client.GetGrain&lt;IRaftMembershipGrain&gt;("raft");
/// await members.AddVoterAsync("silo3");
/// await members.RemoveMemberAsync("silo1");
/// </code>
/// </example>
public interface IRaftMembershipGrain : IGrainWithStringKey
{
    /// <summary>Makes the silo <paramref name="nodeId"/> a voter (a learner first, promoted once caught up).</summary>
    /// <param name="nodeId">The joining silo's node id, listed in <c>AdditionalMembers</c> on every silo.</param>
    /// <returns>The configuration once the silo votes.</returns>
    /// <exception cref="ArgumentException">No silo has an address for <paramref name="nodeId"/>, or the grain's key
    /// names no Raft grain storage.</exception>
    /// <exception cref="RaftMembershipChangeException">Not done now; retry.</exception>
    Task<RaftGroupConfiguration> AddVoterAsync(string nodeId);

    /// <summary>Removes the silo <paramref name="nodeId"/> (a voter or a learner); stop that silo for good afterwards.</summary>
    /// <param name="nodeId">The leaving silo's node id.</param>
    /// <returns>The configuration without the silo, once that change is committed.</returns>
    /// <exception cref="ArgumentException">The grain's key names no Raft grain storage.</exception>
    /// <exception cref="RaftMembershipChangeException">Not done now; retry.</exception>
    Task<RaftGroupConfiguration> RemoveMemberAsync(string nodeId);

    /// <summary>The voters and learners as the receiving silo's node knows them (the latest it appended).</summary>
    /// <returns>The configuration.</returns>
    /// <exception cref="ArgumentException">The grain's key names no Raft grain storage.</exception>
    /// <exception cref="RaftMembershipChangeException">The silo's node is not running.</exception>
    Task<RaftGroupConfiguration> GetConfigurationAsync();
}
