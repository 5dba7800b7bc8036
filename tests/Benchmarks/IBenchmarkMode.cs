namespace Benchmarks;

/// <summary>
/// One benchmark of the program, chosen by its <see cref="Name"/> as the first command-line argument. The program
/// finds every implementation by reflection, so a new benchmark is a new file.
/// </summary>
internal interface IBenchmarkMode
{
    /// <summary>The first command-line argument that selects this benchmark.</summary>
    string Name { get; }

    /// <summary>One line for the program's usage text.</summary>
    string Description { get; }

    /// <summary>Runs the benchmark.</summary>
    /// <param name="args">The command line after the mode's name.</param>
    /// <returns>The process exit code (0 = success, 2 = bad arguments).</returns>
    Task<int> RunAsync(string[] args);
}
