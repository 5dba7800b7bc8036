namespace Benchmarks.Orleans;

/// <summary>What a silo of an <see cref="OrleansTestCluster"/> is, handed to the caller's silo configuration.</summary>
/// <param name="Index">The silo's position, 0-based.</param>
/// <param name="Name">The silo's name (<c>SiloOptions.SiloName</c>): <c>silo0</c>, <c>silo1</c>, ...; stable across restarts.</param>
/// <param name="DataDirectory">
/// The cluster's temporary data directory (deleted when the cluster is disposed); providers that keep files put them
/// under it, e.g. Orleans.Raft's <c>DataDirectory</c> (which adds the silo name itself).
/// </param>
/// <param name="RaftMembers">
/// A free loopback endpoint per silo, reserved for a Raft node: silo name → <c>127.0.0.1:port</c>. The same map for
/// every silo, so it can be given as Orleans.Raft's <c>Members</c>.
/// </param>
public sealed record OrleansSiloContext(int Index, string Name, string DataDirectory, IReadOnlyDictionary<string, string> RaftMembers);
