"""numba kernel of the fast solver: the same equations as `ase.rhs_reference`, compiled.

Embedded Runge-Kutta 2(3) of Bogacki and Shampine with FSAL and step-size control. Time
integrals of the emission use the same stage weights as the state update; the decay
histograms take the emission rate as linear within a step and split it over the output bins.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

#: Largest natural log of the guided flux [ln(photons/s/nm)]: the amplification of a cell is
#: cut so that the flux stays below e^600 ~ 4e260 (see `ase.LOG_FLUX_MAX`).
LOG_FLUX_MAX = 600.0


@njit(cache=True)
def _inv_f12(u):
    """Nilsson's inverse of the normalized Fermi-Dirac integral F_1/2 (see bandfilling)."""
    v = (0.75 * np.sqrt(np.pi) * u) ** (2.0 / 3.0)
    if abs(u - 1.0) < 1e-6:
        first = -0.5
    else:
        first = np.log(u) / (1.0 - u * u)
    return first + v / (1.0 + (0.24 + 1.08 * v) ** -2)


@njit(cache=True)
def _exc(n, e_b, a_b):
    """Vashishta-Kalia exchange-correlation energy per pair [eV] (see bandfilling)."""
    rs = np.cbrt(3.0 / (4.0 * np.pi * max(n, 1.0))) / a_b
    return -e_b * (4.8316 + 5.0879 * rs) / (0.0152 + 3.0426 * rs + rs * rs)


@njit(cache=True)
def _band_gain(y, prm, gs):
    """Material gain of both spin subsystems in every cell, gs[s, i, w] [1/cm] (bandfilling).

    In a mirror-symmetric rod (``prm[19]``) the second half's cells are copies of the first.
    """
    n_x = prm[0]
    n_eval = (n_x + 1) // 2 if prm[19] else n_x
    urb, occ_e, occ_h, alpha0, inv_eu, nc_s, nv_s, ce_kt, ch_kt, e_b, a_b, xfrac = prm[21:33]
    photon_ev, inv_np2, pband_ev, inv_kt, boltz = prm[34:39]
    n_w = urb.size
    for i in range(n_eval):
        n_tot = max(y[i], 0.0) + max(y[n_x + i], 0.0)
        # equal spin densities (linear pump, or spin memory gone): one subsystem's gain is
        # the other's; the relative difference allowed changes the gain by ~1e-12
        same = abs(y[i] - y[n_x + i]) <= 1e-12 * n_tot
        for s in range(2):
            if s == 1 and same:
                for w in range(n_w):
                    gs[1, i, w] = gs[0, i, w]
                break
            ns = max(y[s * n_x + i], 0.0)
            no = max(y[(1 - s) * n_x + i], 0.0)
            # E + x (E_s - E): exactly E when unpolarized (bandfilling.bandgap_renormalization)
            exc = _exc(n_tot, e_b, a_b)
            if xfrac != 0.0:
                exc += xfrac * (_exc(2.0 * ns, e_b, a_b) - exc)
            shrink = max(-(e_b + exc), 0.0)
            a_fac = np.exp(shrink * inv_eu)
            eta_e = _inv_f12(max(ns / nc_s, 1e-30))
            eta_h = _inv_f12(max(ns / nv_s, 1e-30))
            fe_fac = np.exp(ce_kt * shrink - eta_e)
            fh_fac = np.exp(ch_kt * shrink - eta_h)
            for w in range(n_w):
                alpha = alpha0 * min(urb[w] * a_fac, 1.0)
                f_e = 1.0 / (1.0 + occ_e[w] * fe_fac)
                f_h = 1.0 / (1.0 + occ_h[w] * fh_fac)
                gs[s, i, w] = alpha * (f_e + f_h - 1.0)
            if inv_np2 > 0.0:
                # exciton-exciton scattering (P band), bandfilling.material_gain
                z = (ns * (ns + no) + xfrac * ns * (ns - no)) * inv_np2
                pair = z / (1.0 + z)
                e_p0 = -shrink - pband_ev  # E_P0 - E_g
                # exp(0.5 - eps) = exp(0.5 - e_p0 / kT) exp((E - E_g) / kT): one exp per
                # cell (unless that factor would overflow, at a few K)
                log_cell = 0.5 - e_p0 * inv_kt
                split_exp = log_cell < 600.0
                cell_fac = np.exp(log_cell) * pair if split_exp else pair
                for w in range(n_w):
                    eps = (e_p0 - photon_ev[w]) * inv_kt  # photon_ev: E - E_g
                    if eps > 0.0:
                        alpha = alpha0 * min(urb[w] * a_fac, 1.0)
                        shape = boltz[w] if split_exp else np.exp(0.5 - eps)
                        lsh = np.sqrt(2.0 * eps) * shape
                        gs[s, i, w] += (alpha0 - alpha) * lsh * cell_fac
    for i in range(n_eval, n_x):
        for s in range(2):
            for w in range(n_w):
                gs[s, i, w] = gs[s, n_x - 1 - i, w]


@njit(cache=True)
def _rhs(y, prm, work, dy, pl_rate, ase_rate):
    """dy/dt of the spin densities and the escaping PL and guided-out ASE rates.

    prm: the model constants (built once by `ase.solve`); work: scratch arrays; returns the
    spontaneous photon rate [photons/s]. With ``prm[20]`` (band filling) the gain of each
    channel is the inversion-limited material gain of the spin subsystems it couples to and
    the stimulated rate is signed; otherwise the cross-section gain of version 1.
    """
    (
        n_x,
        sigma,
        alpha,
        lsh,
        esc,
        dlam,
        dx,
        gamma,
        area,
        beta_sp,
        k_rad,
        k_nr,
        k2,
        k3,
        inv2taus,
        kappa,
        n_c,
        n_ch,
        sel,
        symmetric,
        band,
    ) = prm[:21]
    neff, gdens, spdens, flux, phibar, q, gs, gm, qs, ex = work
    t_end_rod = prm[33]
    n_w = sigma.size
    w_same = 0.5 * (1.0 + sel)
    w_other = 0.5 * (1.0 - sel)
    for i in range(n_x):
        nu = max(y[i], 0.0)
        nd = max(y[n_x + i], 0.0)
        if n_ch == 1:
            spdens[0, i] = nu + nd
        else:
            spdens[0, i] = w_same * nu + w_other * nd
            spdens[1, i] = w_same * nd + w_other * nu
        if band:
            continue
        eu = nu
        ed = nd
        if kappa != 0.0:
            xu = nu - n_c
            if xu > 0.0:
                eu += kappa * xu * xu / n_c
            xd = nd - n_c
            if xd > 0.0:
                ed += kappa * xd * xd / n_c
        neff[0, i] = eu
        neff[1, i] = ed
        if n_ch == 1:
            gdens[0, i] = eu + ed
        else:
            gdens[0, i] = (1.0 + sel) * eu + (1.0 - sel) * ed
            gdens[1, i] = (1.0 + sel) * ed + (1.0 - sel) * eu
    # modal gain of each channel, before the background loss alpha [1/cm]
    if band:
        _band_gain(y, prm, gs)
        for i in range(n_x):
            for w in range(n_w):
                if n_ch == 1:
                    gm[0, i, w] = gamma * 0.5 * (gs[0, i, w] + gs[1, i, w])
                else:
                    gm[0, i, w] = gamma * (w_same * gs[0, i, w] + w_other * gs[1, i, w])
                    gm[1, i, w] = gamma * (w_same * gs[1, i, w] + w_other * gs[0, i, w])
            qs[0, i] = 0.0
            qs[1, i] = 0.0
    else:
        for c in range(n_ch):
            for i in range(n_x):
                for w in range(n_w):
                    gm[c, i, w] = gamma * gdens[c, i] * sigma[w]
    for w in range(n_w):
        ase_rate[w] = 0.0
    src_pref = 0.5 * beta_sp * k_rad * area * dx
    # symmetric rod: the backward end emits what the forward end does, and the second
    # half's cells have the first half's gain: their exp(u), phi1, phi2 are reused
    # (ex[:, i, w]; ex[0, i, w] < 0: none stored)
    two = 2.0 if symmetric else 1.0
    half = (n_x + 1) // 2
    n_half = half if symmetric else n_x
    # equal spin densities in every cell (a linear pump, or a polarization relaxed to below
    # rounding): the two guided channels are the same, bitwise, and the second is the first
    unpolarized = n_ch == 2
    for i in range(n_x):
        if y[i] != y[n_x + i]:
            unpolarized = False
            break
    for c in range(n_ch):
        if c == 1 and unpolarized:
            for w in range(n_w):
                ase_rate[w] *= 2.0  # the second channel's share (exactly, in a symmetric rod)
            n_dir = 0  # phibar keeps the first channel's values
        else:
            n_dir = 1 if symmetric else 2
            for i in range(n_x):
                for w in range(n_w):
                    phibar[i, w] = 0.0
        # a rod symmetric about its centre has backward flux = mirrored forward flux
        for direction in range(n_dir):
            for w in range(n_w):
                flux[w] = 0.0
            for j in range(n_x):
                i = j if direction == 0 else n_x - 1 - j
                sdx_i = src_pref * spdens[c, i]
                for w in range(n_w):
                    u = (gm[c, i, w] - alpha[w]) * dx
                    s = sdx_i * lsh[w]
                    f = flux[w]
                    keep = 1.0
                    if u > 100.0 or f > 1e150:
                        room = LOG_FLUX_MAX - np.log(max(f, s, 1.0))
                        if u > room:
                            # cut the gain, and the stimulated emission it stands for
                            keep = max(room, 0.0) / u
                            u = max(room, 0.0)
                    k = n_x - 1 - i
                    if symmetric and i >= half and keep == 1.0 and ex[0, k, w] >= 0.0:
                        e = ex[0, k, w]
                        phi1 = ex[1, k, w]
                        phi2 = ex[2, k, w]
                    else:
                        if abs(u) < 1e-4:
                            phi1 = 1.0 + u * (0.5 + u / 6.0)
                            phi2 = 0.5 + u * (1.0 / 6.0 + u / 24.0)
                            e = 1.0 + u * phi1
                        else:
                            e = np.exp(u)
                            phi1 = (e - 1.0) / u
                            phi2 = (phi1 - 1.0) / u
                        if symmetric and i < half:
                            # a cut cell's factors depend on its flux, not on u alone
                            ex[0, i, w] = e if keep == 1.0 else -1.0
                            ex[1, i, w] = phi1
                            ex[2, i, w] = phi2
                    phibar[i, w] += (f * phi1 + s * phi2) * keep
                    flux[w] = f * e + s * phi1
            for w in range(n_w):
                ase_rate[w] += two * flux[w] * t_end_rod[w]
        if symmetric and n_dir > 0:
            for i in range(n_x // 2):
                j = n_x - 1 - i
                for w in range(n_w):
                    tot = phibar[i, w] + phibar[j, w]
                    phibar[i, w] = tot
                    phibar[j, w] = tot
            if n_x % 2 == 1:
                for w in range(n_w):
                    phibar[n_x // 2, w] *= 2.0
        pref = gamma / area * dlam
        if band:
            # signed stimulated rate of each subsystem: emission where g > 0, absorption below
            for i in range(n_half):
                a_up = 0.0
                a_dn = 0.0
                for w in range(n_w):
                    a_up += gs[0, i, w] * phibar[i, w]
                    a_dn += gs[1, i, w] * phibar[i, w]
                if n_ch == 1:
                    qs[0, i] += 0.5 * pref * a_up
                    qs[1, i] += 0.5 * pref * a_dn
                elif c == 0:
                    qs[0, i] += w_same * pref * a_up
                    qs[1, i] += w_other * pref * a_dn
                else:
                    qs[0, i] += w_other * pref * a_up
                    qs[1, i] += w_same * pref * a_dn
        else:
            for i in range(n_half):
                acc = 0.0
                for w in range(n_w):
                    acc += sigma[w] * phibar[i, w]
                q[c, i] = pref * acc
    # the mirrored half of a symmetric rod
    for i in range(n_half, n_x):
        for c in range(2):
            qs[c, i] = qs[c, n_x - 1 - i]
            q[c, i] = q[c, n_x - 1 - i]
    ntot = 0.0
    k1 = k_rad + k_nr
    for i in range(n_x):
        nu = max(y[i], 0.0)
        nd = max(y[n_x + i], 0.0)
        n = nu + nd
        ntot += n
        loss = k1 + k2 * n + k3 * n * n
        if band:
            ru = qs[0, i]
            rd = qs[1, i]
        elif n_ch == 1:
            ru = neff[0, i] * q[0, i]
            rd = neff[1, i] * q[0, i]
        else:
            ru = neff[0, i] * ((1.0 + sel) * q[0, i] + (1.0 - sel) * q[1, i])
            rd = neff[1, i] * ((1.0 + sel) * q[1, i] + (1.0 - sel) * q[0, i])
        flow = (nu - nd) * inv2taus
        dy[i] = -loss * nu - flow - ru
        dy[n_x + i] = -loss * nd + flow - rd
    spont = k_rad * ntot * area * dx
    for w in range(n_w):
        pl_rate[w] = (1.0 - beta_sp) * spont * lsh[w] * esc[w]
    return spont


@njit(cache=True)
def _det(pl_rate, ase_rate, collect_pl, collect_ase, det_idx, det_w, out):
    for d in range(det_idx.size):
        i = det_idx[d]
        w = det_w[d]
        a = collect_pl * pl_rate[i] + collect_ase * ase_rate[i]
        b = collect_pl * pl_rate[i + 1] + collect_ase * ase_rate[i + 1]
        out[d] = (1.0 - w) * a + w * b


@njit(cache=True)
def _bin_linear(t0, t1, r0, r1, total, dt_bin, n_bins, decay):
    """Split the step's integral `total` of each rate over the bins it covers, in the shares
    of a rate linear from r0 at t0 to r1 at t1 (the step's quadrature sets how much, the
    linear shape only where: the histogram then sums to the spectra's time integral)."""
    h = t1 - t0
    b0 = int(t0 / dt_bin)
    for b in range(b0, n_bins):
        lo = max(t0, b * dt_bin)
        hi = min(t1, (b + 1) * dt_bin)
        if hi <= lo:
            if b * dt_bin >= t1:
                break
            continue
        for d in range(r0.size):
            trap = 0.5 * (r0[d] + r1[d]) * h
            ra = r0[d] + (r1[d] - r0[d]) * (lo - t0) / h
            rb = r0[d] + (r1[d] - r0[d]) * (hi - t0) / h
            part = 0.5 * (ra + rb) * (hi - lo)
            if trap > 0.0 and total[d] >= 0.0:
                decay[d, b] += total[d] * (part / trap)
            else:
                decay[d, b] += part


@njit(cache=True)
def _relaxation_dominates(y, dy, prm, spin_rate, split):
    """Whether the spin relaxation may be split off the step (see `_solve_one`).

    True when the polarization is negligible (below 1e-4 of the density), or when the only
    polarization-changing term besides the relaxation that is not proportional to the
    polarization with a spin-independent rate, the difference of the two subsystems'
    stimulated rates, is below 1 % of the relaxation: the rest of the step then commutes
    with the relaxation up to that share, and splitting it off is accurate to it.
    dy is the right-hand side at y; `split` says whether it was computed without the
    relaxation term.
    """
    n_x = prm[0]
    k1, k2, k3 = prm[10] + prm[11], prm[12], prm[13]
    pol = 0.0
    tot = 0.0
    src = 0.0
    for i in range(n_x):
        p = y[i] - y[n_x + i]
        n = max(y[i], 0.0) + max(y[n_x + i], 0.0)
        pol += abs(p)
        tot += n
        # dP/dt = -(k1 + k2 n + k3 n^2) P - [spin_rate P] - (stimulated up - down)
        rest = dy[i] - dy[n_x + i] + (k1 + k2 * n + k3 * n * n) * p
        if not split:
            rest += spin_rate * p
        src += abs(rest)
    return pol <= 1e-4 * tot or src <= 1e-2 * spin_rate * pol


@njit(cache=True)
def _solve_one(
    y0,
    prm,
    prm_split,
    collect_pl,
    collect_ase,
    det_idx,
    det_w,
    dt_bin,
    n_bins,
    t_end,
    rtol,
    atol_rel,
    max_step,
    spin_rate,
    pl,
    ase,
    decay,
    stats,
):
    """Integrate one run from the initial densities y0 (see `_rhs` for `prm`).

    spin_rate: 1/tau_s [1/s] when the spin relaxation is stiff (tau_s short), else 0. Then the
    relaxation stays in the right-hand side (`prm`, steps kept stable by the error control)
    while stimulated emission drives the two spin subsystems apart faster than 1 % of the
    relaxation (`_relaxation_dominates`); otherwise it is split off: `prm_split` has no
    relaxation term and after each accepted step N_up - N_down is multiplied by
    exp(-h/tau_s), its exact decay, so the tail takes large steps. The test is repeated
    after every step and the split undone when the stimulated drive returns. (Waiting
    instead for the polarization to decay does not work: an explicit step at its stability
    limit damps it by ~2 % per step, and the error control, relative to the spin densities,
    lets it sit at rtol of the density for the whole run: 2100 steps at 4 mJ/cm2.)
    """
    n_x, sigma, dlam, dx, area = prm[0], prm[1], prm[5], prm[6], prm[8]
    n = y0.size
    n_w = sigma.size
    n_d = det_idx.size
    neff = np.empty((2, n_x))
    gdens = np.empty((2, n_x))
    spdens = np.empty((2, n_x))
    flux = np.empty(n_w)
    phibar = np.empty((n_x, n_w))
    q = np.empty((2, n_x))
    gs = np.empty((2, n_x, n_w))
    gm = np.empty((2, n_x, n_w))
    qs = np.empty((2, n_x))
    k1 = np.empty(n)
    k2v = np.empty(n)
    k3v = np.empty(n)
    k4 = np.empty(n)
    p1 = np.empty(n_w)
    p2 = np.empty(n_w)
    p3 = np.empty(n_w)
    p4 = np.empty(n_w)
    a1 = np.empty(n_w)
    a2 = np.empty(n_w)
    a3 = np.empty(n_w)
    a4 = np.empty(n_w)
    r0 = np.empty(n_d)
    r1 = np.empty(n_d)
    rq2 = np.empty(n_d)
    rq3 = np.empty(n_d)
    rtot = np.empty(n_d)
    ytmp = np.empty(n)
    ynew = np.empty(n)
    y = y0.copy()
    ymax = 0.0
    for i in range(n):
        ymax = max(ymax, y[i])
    stats[1] = 0.0
    for i in range(n):
        stats[1] += y[i] * area * dx
    if ymax <= 0.0:
        return
    atol = atol_rel * ymax
    ex = np.empty((3, n_x, n_w))
    work = (neff, gdens, spdens, flux, phibar, q, gs, gm, qs, ex)
    relaxed = False
    cur = prm
    s1 = _rhs(y, cur, work, k1, p1, a1)
    t = 0.0
    h = 1e-15
    steps = 0
    while t < t_end and steps < 1000000:
        if t + h > t_end:
            h = t_end - t
        for i in range(n):
            ytmp[i] = y[i] + 0.5 * h * k1[i]
        s2 = _rhs(ytmp, cur, work, k2v, p2, a2)
        for i in range(n):
            ytmp[i] = y[i] + 0.75 * h * k2v[i]
        s3 = _rhs(ytmp, cur, work, k3v, p3, a3)
        for i in range(n):
            ynew[i] = y[i] + h * (2.0 / 9.0 * k1[i] + 1.0 / 3.0 * k2v[i] + 4.0 / 9.0 * k3v[i])
        s4 = _rhs(ynew, cur, work, k4, p4, a4)
        err = 0.0
        for i in range(n):
            e = h * (-5.0 / 72.0 * k1[i] + 1.0 / 12.0 * k2v[i] + 1.0 / 9.0 * k3v[i] - 0.125 * k4[i])
            sc = atol + rtol * max(abs(y[i]), abs(ynew[i]))
            err = max(err, abs(e) / sc)
            if not np.isfinite(e):
                err = np.inf  # max() would skip a NaN: reject the step instead
        if err <= 1.0:
            b1 = 2.0 / 9.0 * h
            b2 = 1.0 / 3.0 * h
            b3 = 4.0 / 9.0 * h
            tot_ase = 0.0
            for w in range(n_w):
                pl[w] += b1 * p1[w] + b2 * p2[w] + b3 * p3[w]
                da = b1 * a1[w] + b2 * a2[w] + b3 * a3[w]
                ase[w] += da
                tot_ase += da * dlam
            stats[2] += b1 * s1 + b2 * s2 + b3 * s3
            stats[3] += tot_ase
            _det(p1, a1, collect_pl, collect_ase, det_idx, det_w, r0)
            _det(p2, a2, collect_pl, collect_ase, det_idx, det_w, rq2)
            _det(p3, a3, collect_pl, collect_ase, det_idx, det_w, rq3)
            for d in range(n_d):
                rtot[d] = b1 * r0[d] + b2 * rq2[d] + b3 * rq3[d]
            _det(p4, a4, collect_pl, collect_ase, det_idx, det_w, r1)
            _bin_linear(t, t + h, r0, r1, rtot, dt_bin, n_bins, decay)
            t += h
            for i in range(n):
                y[i] = ynew[i]
                k1[i] = k4[i]
            for w in range(n_w):
                p1[w] = p4[w]
                a1[w] = a4[w]
            s1 = s4
            if spin_rate > 0.0:
                if relaxed:
                    decay_p = np.exp(-h * spin_rate)
                    for i in range(n_x):
                        tot = y[i] + y[n_x + i]
                        dif = (y[i] - y[n_x + i]) * decay_p
                        y[i] = 0.5 * (tot + dif)
                        y[n_x + i] = 0.5 * (tot - dif)
                    s1 = _rhs(y, cur, work, k1, p1, a1)
                split = _relaxation_dominates(y, k1, prm, spin_rate, relaxed)
                if split != relaxed:
                    relaxed = split
                    cur = prm_split if split else prm
                    s1 = _rhs(y, cur, work, k1, p1, a1)
            steps += 1
        if not np.isfinite(err):
            fac = 0.2
        else:
            fac = 5.0 if err == 0.0 else min(5.0, max(0.2, 0.9 * err ** (-1.0 / 3.0)))
        h = min(h * fac, max_step)
    stats[0] = steps


@njit(cache=True, parallel=True)
def solve_batch(
    n0_up,
    n0_down,
    prm,
    tau_s,
    collect_pl,
    collect_ase,
    det_idx,
    det_w,
    dt_bin,
    n_bins,
    t_end,
    rtol,
    atol_rel,
    max_step,
):
    """Integrate every run (`_solve_one`) in parallel.

    prm: the model constants in the order `_rhs` unpacks them, with 0.5 / tau_s at prm[14]
    (`ase.solve` builds it); tau_s: the spin relaxation time [s]; max_step: the largest
    step of each run, shape (R,) [s].
    """
    n_runs, n_x = n0_up.shape
    n_w = prm[1].size
    pl = np.zeros((n_runs, n_w))
    ase = np.zeros((n_runs, n_w))
    decay = np.zeros((n_runs, det_idx.size, n_bins))
    stats = np.zeros((n_runs, 4))
    # the same constants without the relaxation term, for the split phase
    prm_split = prm[:14] + (0.0,) + prm[15:]  # noqa: RUF005 (numba: concatenated tuples)
    for r in prange(n_runs):
        # a spin relaxation faster than ten largest steps is stiff (see `_solve_one`)
        spin_rate = 1.0 / tau_s if tau_s < 10.0 * max_step[r] else 0.0
        y0 = np.empty(2 * n_x)
        for i in range(n_x):
            y0[i] = n0_up[r, i]
            y0[n_x + i] = n0_down[r, i]
        _solve_one(
            y0,
            prm,
            prm_split,
            collect_pl,
            collect_ase,
            det_idx,
            det_w,
            dt_bin,
            n_bins,
            t_end,
            rtol,
            atol_rel,
            max_step[r],
            spin_rate,
            pl[r],
            ase[r],
            decay[r],
            stats[r],
        )
    return pl, ase, decay, stats
