using ControlPlane.System.Tests.Infrastructure;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace ControlPlane.System.Tests;

/// <summary>
/// One collection: the scenarios share the platform's processes and run one after another, which a
/// 2-core machine needs for timing-sensitive assertions (latency, leases) to mean something.
/// </summary>
[CollectionDefinition(Name)]
public sealed class SystemCollection : ICollectionFixture<Platform>
{
    public const string Name = "system";
}
