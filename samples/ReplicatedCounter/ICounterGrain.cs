namespace ReplicatedCounter;

public interface ICounterGrain : IGrainWithStringKey
{
    /// <summary>Adds one and stores it; returns the new count once the Raft group committed the write.</summary>
    Task<long> Increment();

    /// <summary>Reads the stored value again (a linearizable read through this silo's Raft node).</summary>
    Task<long> ReadStored();

    /// <summary>The name of the silo this activation runs on.</summary>
    Task<string> SiloName();
}
