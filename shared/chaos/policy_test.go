package chaos_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/shared/chaos"
)

func nodes(ready ...bool) []chaos.Node {
	out := make([]chaos.Node, len(ready))
	for i, r := range ready {
		out[i] = chaos.Node{Name: string(rune('a' + i)), Ready: r}
	}
	return out
}

func TestRoundRobinCyclesReadyNodesInNameOrder(t *testing.T) {
	s := &chaos.Selector{Policy: chaos.RoundRobin}
	var got []string
	for range 5 {
		v, err := s.Pick(nodes(true, false, true, true), "")
		require.NoError(t, err)
		got = append(got, v.Name)
	}
	assert.Equal(t, []string{"a", "c", "d", "a", "c"}, got)
}

func TestRandomPicksOnlyReadyNodes(t *testing.T) {
	s := &chaos.Selector{Policy: chaos.Random}
	seen := map[string]bool{}
	for range 200 {
		v, err := s.Pick(nodes(false, true, true), "")
		require.NoError(t, err)
		seen[v.Name] = true
	}
	assert.Equal(t, map[string]bool{"b": true, "c": true}, seen)
}

func TestMinAvailable(t *testing.T) {
	s := &chaos.Selector{Policy: chaos.Random, MinAvailable: 2}
	_, err := s.Pick(nodes(true, true, true), "")
	require.NoError(t, err)
	_, err = s.Pick(nodes(true, true, false), "")
	assert.True(t, errors.Is(err, chaos.ErrNoVictim))
	_, err = s.Pick(nodes(true, true, false), "c")
	assert.NoError(t, err, "killing a node already down leaves two serving")
	_, err = s.Pick(nodes(true, true, false), "a")
	assert.ErrorIs(t, err, chaos.ErrNoVictim)
	_, err = (&chaos.Selector{}).Pick(nodes(false, false), "")
	assert.ErrorIs(t, err, chaos.ErrNoVictim)
	_, err = (&chaos.Selector{}).Pick(nodes(true), "zz")
	assert.ErrorContains(t, err, "not an eligible node")
}

func TestParseKillMethod(t *testing.T) {
	for in, want := range map[string]chaos.KillMethod{
		"stop": chaos.Stop, "ray_stop": chaos.Stop, "HALT": chaos.Halt, "node_halt": chaos.Halt,
		"pause": chaos.Pause, "partition": chaos.Partition, "spare": chaos.Spare,
	} {
		got, err := chaos.ParseKillMethod(in)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	_, err := chaos.ParseKillMethod("nuke")
	assert.Error(t, err)
}

func TestBatchSize(t *testing.T) {
	for _, tc := range []struct {
		plan chaos.UpgradePlan
		n    int
		want int
	}{
		{chaos.UpgradePlan{Type: chaos.InPlace}, 3, 3},
		{chaos.UpgradePlan{Type: chaos.Rollout}, 3, 1},
		{chaos.UpgradePlan{Type: chaos.MaxSurge, SurgePercent: 20}, 3, 1},
		{chaos.UpgradePlan{Type: chaos.MaxSurge, SurgePercent: 50}, 3, 2},
		{chaos.UpgradePlan{Type: chaos.MaxSurge, SurgePercent: 75}, 3, 3},
		{chaos.UpgradePlan{Type: chaos.MaxSurge, SurgePercent: 75}, 0, 1},
	} {
		assert.Equal(t, tc.want, tc.plan.BatchSize(tc.n), tc.plan.String())
	}
	assert.Equal(t, "Beta Receiver running!", chaos.DefaultMessage("beta"))
}
