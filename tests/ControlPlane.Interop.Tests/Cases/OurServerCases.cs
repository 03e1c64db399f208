using ControlPlane.Interop.Tests.Infrastructure;

namespace ControlPlane.Interop.Tests.Cases;

/// <summary>Our client against our own server: the same cases, so both sides of our runtime meet the same bar.</summary>
public sealed class OurServerCases(OurServerFixture fixture) : InteropCases, IClassFixture<OurServerFixture>
{
    protected override Task<Uri> GetAddressAsync() => Task.FromResult(fixture.Server.Address);
}
