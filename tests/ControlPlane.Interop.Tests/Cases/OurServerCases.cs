using ControlPlane.Interop.Tests.Infrastructure;

namespace ControlPlane.Interop.Tests.Cases;

/// <summary>
/// Our client against our own server: the same cases, so both sides of our runtime meet the same
/// bar. Here we also see the server's log: no case may make it log an error.
/// </summary>
public sealed class OurServerCases(OurServerFixture fixture) : InteropCases, IClassFixture<OurServerFixture>, IAsyncLifetime
{
    private int _mark;

    protected override Task<Uri> GetAddressAsync() => Task.FromResult(fixture.Server.Address);

    public ValueTask InitializeAsync()
    {
        _mark = fixture.LogMark();
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        fixture.AssertNoErrorsSince(_mark);
        return ValueTask.CompletedTask;
    }
}
