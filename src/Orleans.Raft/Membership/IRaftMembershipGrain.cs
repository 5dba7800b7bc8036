namespace Orleans.Raft.Membership;

/// <summary>
/// Changes who holds the grain state of a Raft grain storage, from any silo or an Orleans client: the grain's key is
/// the provider's name (as in <c>[PersistentState("state", "raft")]</c>).
/// </summary>
/// <remarks>
/// Each call runs on the silo that receives it (a reentrant stateless worker), whose Raft grain storage forwards it to
/// the leader's silo (<c>RaftGrainStorage.AddVoterAsync</c> and <c>RemoveMemberAsync</c>; README, "Adding, removing and
/// replacing silos"); over gRPC with TLS and <c>BindCertificateToNodeId</c> off nothing is forwarded, so the call succeeds only where it lands on the leader's
/// silo (<see cref="NotSupportedException"/> elsewhere). The changes are safe to retry. A failure that calls for a
/// retry (no leader known, leadership moved, another change pending, the leader's answer lost) is a
/// <see cref="RaftMembershipChangeException"/>. The cancellation token bounds the wait, in the silo too (a joining
/// silo that must catch up on a large log can take long, and one that is not running never catches up); a call that
/// outlives Orleans' response timeout (30 s by default) fails at the caller but goes on in the silo (Orleans does not
/// cancel it there unless <c>MessagingOptions.CancelRequestOnTimeout</c> is set): the token is what ends it. A change already proposed may still be made after a cancellation: ask <see cref="GetConfigurationAsync"/>, and
/// remove a learner left behind with <see cref="RemoveMemberAsync"/>.
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
    /// <param name="nodeId">The joining silo's node id, listed in <c>AdditionalMembers</c> on every silo (or with an
    /// address the group recorded).</param>
    /// <param name="cancellationToken">Abandons the wait; the silo may stay a learner (see the remarks).</param>
    /// <returns>The configuration once the silo votes.</returns>
    /// <exception cref="ArgumentException">No silo has an address for <paramref name="nodeId"/>, or the grain's key
    /// names no Raft grain storage.</exception>
    /// <exception cref="RaftMembershipChangeException">Not done now; retry.</exception>
    /// <exception cref="NotSupportedException">Over gRPC with TLS and <c>BindCertificateToNodeId</c> off, on a silo that does not lead.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    Task<RaftGroupConfiguration> AddVoterAsync(string nodeId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Makes the silo <paramref name="nodeId"/>, listening at <paramref name="address"/>, a voter, with no need for
    /// other silos' options to list it: the group records the address first, and every silo reaches it there (also how
    /// a member is given a new address). See <c>RaftGrainStorage.AddVoterAsync(nodeId, address)</c>.
    /// </summary>
    /// <param name="nodeId">The joining silo's node id.</param>
    /// <param name="address">Its Raft endpoint's address (<c>host:port</c> for gRPC).</param>
    /// <param name="cancellationToken">Abandons the wait; the silo may stay a learner (see the remarks).</param>
    /// <returns>The configuration once the silo votes.</returns>
    /// <exception cref="ArgumentException">The node id or the address cannot be used, or the grain's key names no Raft
    /// grain storage.</exception>
    /// <exception cref="RaftMembershipChangeException">Not done now; retry.</exception>
    /// <exception cref="NotSupportedException">Over gRPC with TLS and <c>BindCertificateToNodeId</c> off, on a silo that does not lead.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    Task<RaftGroupConfiguration> AddVoterAsync(string nodeId, string address, CancellationToken cancellationToken = default);

    /// <summary>Removes the silo <paramref name="nodeId"/> (a voter or a learner); stop that silo for good afterwards.</summary>
    /// <param name="nodeId">The leaving silo's node id.</param>
    /// <param name="cancellationToken">Abandons the wait; the change may still be made.</param>
    /// <returns>The configuration without the silo, once that change is committed.</returns>
    /// <exception cref="ArgumentException">The grain's key names no Raft grain storage.</exception>
    /// <exception cref="RaftMembershipChangeException">Not done now; retry.</exception>
    /// <exception cref="NotSupportedException">Over gRPC with TLS and <c>BindCertificateToNodeId</c> off, on a silo that does not lead.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    Task<RaftGroupConfiguration> RemoveMemberAsync(string nodeId, CancellationToken cancellationToken = default);

    /// <summary>The voters and learners as the receiving silo's node knows them (the latest it appended).</summary>
    /// <returns>The configuration.</returns>
    /// <exception cref="ArgumentException">The grain's key names no Raft grain storage.</exception>
    /// <exception cref="RaftMembershipChangeException">The silo's node is not running.</exception>
    Task<RaftGroupConfiguration> GetConfigurationAsync();
}
